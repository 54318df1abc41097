import type { Database, Queryable } from '../db/database';
import { ApiError, type ApiReply, type ApiRequest, asRole, ident, json } from './api';
import { pgErrorToRest } from './rest-errors';
import { buildWhere, parseOrder, type Column } from './rest-filters';

/**
 * The PostgREST subset the jobs and tests use: RPC with every return shape, and table
 * select/insert/update/delete with filters, order, limit/offset, count=exact and
 * return=representation. Identifiers are checked against the catalog; values are always bound.
 */
export interface RestOptions {
  /** Schemas exposed through the API, as in a hosted project's API settings. @default ['public'] */
  exposedSchemas?: string[];
  /** PostgREST `db-max-rows`: the most rows one request returns. @default 1000 (hosted default) */
  maxRows?: number;
}

export const DEFAULT_MAX_ROWS = 1000;

export function createRestHandler(db: Database, options: RestOptions = {}) {
  const exposed = options.exposedSchemas ?? ['public'];
  const maxRows = options.maxRows ?? DEFAULT_MAX_ROWS;

  return async function handleRest(req: ApiRequest): Promise<ApiReply> {
    const profileHeader = req.method === 'GET' || req.method === 'HEAD' ? 'accept-profile' : 'content-profile';
    const schema = String(req.headers[profileHeader] ?? exposed[0]);
    if (!exposed.includes(schema)) {
      throw new ApiError(406, { code: 'PGRST106', message: `The schema must be one of the following: ${exposed.join(', ')}`, details: null, hint: null });
    }
    try {
      return await asRole(db, req, async (tx) => {
        const rpc = /^rpc\/([^/]+)$/.exec(req.path);
        if (rpc) return callFunction(tx, schema, decodeURIComponent(rpc[1]), req, maxRows);
        const table = /^([^/]+)$/.exec(req.path);
        if (table) return tableRequest(tx, schema, decodeURIComponent(table[1]), req, maxRows);
        throw new ApiError(404, { code: 'PGRST125', message: `Invalid path specified in request URL`, details: null, hint: null });
      });
    } catch (error) {
      if (error instanceof ApiError) throw error;
      throw pgErrorToRest(error, req.role);
    }
  };
}

// ---------------------------------------------------------------------------------------------
// RPC

interface FunctionInfo {
  retset: boolean;
  rettype: string;
  typtype: string;
  args: { name: string; type: string }[];
  required: number;
  /** The media type this function is a handler for (its return type is a domain named like one), lower-cased. */
  mediaType: string | null;
  /** That domain's base type, e.g. `text` or `bytea`. */
  mediaBaseType: string | null;
}

async function findFunction(tx: Queryable, schema: string, name: string, given: string[]): Promise<FunctionInfo> {
  const { rows } = await tx.query<{
    retset: boolean; rettype: string; typtype: string; names: string[] | null; modes: string[] | null;
    types: string[]; nargs: number; ndefaults: number; media_type: string | null; media_base_type: string | null;
  }>(
    // The media-type test is PostgREST's own (SchemaCache.hs, mediaHandlers): a domain of any
    // schema whose name looks like type/subtype, returned by a function that is not set-returning.
    `select p.proretset as retset, format_type(p.prorettype, null) as rettype, t.typtype::text as typtype,
            case when t.typbasetype <> 0 and not p.proretset and t.typname ~* '^[A-Za-z0-9.-]+/[A-Za-z0-9.+-]+$'
                 then lower(t.typname) end as media_type,
            case when t.typbasetype <> 0 then format_type(t.typbasetype, null) end as media_base_type,
            p.proargnames as names, p.proargmodes::text[] as modes, p.pronargs as nargs, p.pronargdefaults as ndefaults,
            array(select format_type(x, null) from unnest(p.proargtypes) x) as types
       from pg_proc p join pg_namespace n on n.oid = p.pronamespace join pg_type t on t.oid = p.prorettype
      where n.nspname = $1 and p.proname = $2 and p.prokind = 'f'`,
    [schema, name],
  );
  for (const row of rows) {
    const inputNames = (row.names ?? []).filter((_, i) => !row.modes || ['i', 'b', 'v'].includes(row.modes[i]));
    if (inputNames.length !== row.types.length) continue; // unnamed arguments cannot be called by name
    const args = inputNames.map((argName, i) => ({ name: argName, type: row.types[i] }));
    const required = row.nargs - row.ndefaults;
    const fits = given.every((key) => inputNames.includes(key)) && inputNames.slice(0, required).every((n) => given.includes(n));
    if (fits) {
      return {
        retset: row.retset, rettype: row.rettype, typtype: row.typtype, args, required,
        mediaType: row.media_type, mediaBaseType: row.media_type ? row.media_base_type : null,
      };
    }
  }
  throw new ApiError(404, {
    code: 'PGRST202',
    message: `Could not find the function ${schema}.${name}(${[...given].sort().join(', ')}) in the schema cache`,
    details: `Searched for the function ${schema}.${name} with parameters ${[...given].sort().join(', ') || 'none'}`,
    hint: null,
  });
}

function readArgs(req: ApiRequest): Record<string, unknown> {
  if (req.method === 'GET' || req.method === 'HEAD') return Object.fromEntries(req.query.entries());
  if (req.body.length === 0) return {};
  const value = parseJsonBody(req.body);
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    throw new ApiError(400, { code: 'PGRST102', message: 'Function arguments must be a JSON object', details: null, hint: null });
  }
  return value as Record<string, unknown>;
}

async function callFunction(tx: Queryable, schema: string, name: string, req: ApiRequest, maxRows: number): Promise<ApiReply> {
  if (!['GET', 'HEAD', 'POST'].includes(req.method)) throw methodNotAllowed(req.method);
  const args = readArgs(req);
  const fn = await findFunction(tx, schema, name, Object.keys(args));
  const passed = fn.args.filter((a) => a.name in args);
  // json_to_record turns the JSON object into typed columns, as PostgREST itself does.
  const record = passed.length ? `json_to_record($1::json) as _args(${passed.map((a) => `${ident(a.name)} ${a.type}`).join(', ')})` : '';
  const call = `${ident(schema)}.${ident(name)}(${passed.map((a) => `${ident(a.name)} := _args.${ident(a.name)}`).join(', ')})`;
  const from = (rest: string) => (record ? `from ${record}, ${rest}` : `from ${rest}`);
  const params = record ? [JSON.stringify(args)] : [];
  const composite = fn.typtype === 'c' || fn.rettype === 'record';

  if (answersWithHandler(req, fn)) {
    // The handler's value, raw: no JSON around it, as PostgREST sends it.
    const bytes = fn.mediaBaseType === 'bytea';
    const { rows } = await tx.query<{ body: string | null }>(
      `select ${bytes ? `encode(${call}, 'base64')` : `(${call})::text`} as body ${record ? `from ${record}` : ''}`,
      params,
    );
    const value = rows[0]?.body ?? '';
    const type = fn.mediaType as string;
    return {
      status: 200,
      headers: { 'content-type': type.startsWith('text/') ? `${type}; charset=utf-8` : type },
      body: bytes ? Buffer.from(value, 'base64') : value,
    };
  }
  if (fn.rettype === 'void') {
    await tx.query(`select ${call} ${record ? `from ${record}` : ''}`, params);
    return { status: 204 };
  }
  if (fn.retset) {
    const rowExpr = composite ? '_s' : '_s._v';
    const inner = composite ? `select _r.* ${from(`${call} _r`)}` : `select _r as _v ${from(`${call} _r`)}`;
    const { rows } = await tx.query<{ body: string; n: number }>(
      `select coalesce(json_agg(${rowExpr}), '[]')::text as body, count(*)::int as n from (${inner} limit ${maxRows}) _s`,
      params,
    );
    const { body, n } = rows[0];
    return json(200, body, { 'content-range': n ? `0-${n - 1}/*` : '*/*' });
  }
  if (composite) {
    const { rows } = await tx.query<{ body: string }>(
      `select case when _r is null then 'null' else to_json(_r)::text end as body ${from(`${call} _r`)}`,
      params,
    );
    return json(200, rows[0]?.body ?? 'null');
  }
  const { rows } = await tx.query<{ body: string }>(`select to_json(${call})::text as body ${record ? `from ${record}` : ''}`, params);
  return json(200, rows[0]?.body ?? 'null');
}

/** Media types every function answers in JSON, handler or not. */
const JSON_MEDIA_TYPES = new Set(['application/json', 'application/*', '*/*', 'application/vnd.pgrst.object+json', 'application/vnd.pgrst.object']);

/**
 * PostgREST's content negotiation for one function call, the part the local stack serves: the
 * Accept header's media types, most wanted first (q-values), each answered by JSON or by the
 * function's own media-type handler; when none can be, 406 PGRST107 naming what was asked for.
 * No Accept header means `*\/*`, i.e. JSON. Not imitated: CSV, GeoJSON and the `*\/*` "any"
 * handler, which no export-ops function uses.
 */
function answersWithHandler(req: ApiRequest, fn: FunctionInfo): boolean {
  const header = String(req.headers.accept ?? '').trim();
  if (header === '') return false;
  const asked = header.split(',').map((part, order) => {
    const [type, ...params] = part.split(';').map((p) => p.trim());
    const q = params.find((p) => /^q=/i.test(p));
    return { type: type.toLowerCase(), q: q ? Number(q.slice(2)) : 1, order };
  }).filter((m) => m.type !== '' && m.q > 0).sort((a, b) => b.q - a.q || a.order - b.order);
  for (const { type } of asked) {
    if (JSON_MEDIA_TYPES.has(type)) return false;
    if (type === fn.mediaType) return true;
  }
  throw new ApiError(406, {
    code: 'PGRST107',
    message: `None of these media types are available: ${asked.map((m) => m.type).join(', ') || header}`,
    details: null,
    hint: null,
  });
}

// ---------------------------------------------------------------------------------------------
// Tables

async function tableColumns(tx: Queryable, schema: string, table: string): Promise<Map<string, Column>> {
  const { rows } = await tx.query<{ name: string; type: string }>(
    `select a.attname as name, format_type(a.atttypid, a.atttypmod) as type
       from pg_attribute a join pg_class c on c.oid = a.attrelid join pg_namespace n on n.oid = c.relnamespace
      where n.nspname = $1 and c.relname = $2 and c.relkind in ('r', 'v', 'm', 'p', 'f')
        and a.attnum > 0 and not a.attisdropped
      order by a.attnum`,
    [schema, table],
  );
  if (rows.length === 0) {
    throw new ApiError(404, { code: 'PGRST205', message: `Could not find the table '${schema}.${table}' in the schema cache`, details: null, hint: null });
  }
  return new Map(rows.map((r) => [r.name, { name: r.name, type: r.type }]));
}

function checkColumn(columns: Map<string, Column>, table: string, name: string): string {
  if (!columns.has(name)) {
    throw new ApiError(400, { code: '42703', message: `column ${table}.${name} does not exist`, details: null, hint: null });
  }
  return ident(name);
}

function selectList(req: ApiRequest, columns: Map<string, Column>, table: string): string {
  const select = req.query.get('select') ?? '*';
  if (select.trim() === '*') return '*';
  return select.split(',').map((part) => {
    const name = part.trim();
    if (/[()!:]/.test(name)) {
      throw new ApiError(400, { code: 'PGRST100', message: `"${name}": embedded resources, casts and aliases are not supported by the local server`, details: null, hint: null });
    }
    return checkColumn(columns, table, name);
  }).join(', ');
}

function preferences(req: ApiRequest): Set<string> {
  const raw = req.headers.prefer;
  const list = Array.isArray(raw) ? raw.join(',') : (raw ?? '');
  return new Set(list.split(',').map((p) => p.trim()).filter(Boolean));
}

async function tableRequest(tx: Queryable, schema: string, table: string, req: ApiRequest, maxRows: number): Promise<ApiReply> {
  const columns = await tableColumns(tx, schema, table);
  const target = `${ident(schema)}.${ident(table)}`;
  const prefer = preferences(req);
  const params: unknown[] = [];
  const where = buildWhere(req.query, { columns, table, qualifier: target }, params);
  const returning = selectList(req, columns, table);
  const wantsRows = prefer.has('return=representation');
  const single = String(req.headers.accept ?? '').includes('application/vnd.pgrst.object+json');

  switch (req.method) {
    case 'GET':
    case 'HEAD': {
      const order = parseOrder(req.query.get('order'), { columns, table, qualifier: target });
      const limit = Math.min(readCount(req.query.get('limit'), 'limit') ?? maxRows, maxRows);
      const offset = readCount(req.query.get('offset'), 'offset') ?? 0;
      const { rows } = await tx.query<{ body: string; n: number }>(
        `select coalesce(json_agg(_t), '[]')::text as body, count(*)::int as n
           from (select ${returning} from ${target} ${where} ${order} limit ${limit} offset ${offset}) _t`,
        params,
      );
      let total = '*';
      if (prefer.has('count=exact')) {
        const counted = await tx.query<{ n: number }>(`select count(*)::int as n from ${target} ${where}`, params);
        total = String(counted.rows[0].n);
      }
      const { n } = rows[0];
      const range = n ? `${offset}-${offset + n - 1}/${total}` : `*/${total}`;
      const reply = single ? singleObject(rows[0].body, n) : json(200, rows[0].body);
      reply.headers = { ...reply.headers, 'content-range': range };
      if (req.method === 'HEAD') reply.body = undefined;
      return reply;
    }
    case 'POST': {
      const body = parseJsonBody(req.body);
      const records = Array.isArray(body) ? body : [body];
      if (records.some((r) => r === null || typeof r !== 'object' || Array.isArray(r))) {
        throw new ApiError(400, { code: 'PGRST102', message: 'All object keys must match', details: null, hint: null });
      }
      const keys = [...new Set(records.flatMap((r) => Object.keys(r as object)))];
      const cols = keys.map((k) => checkColumn(columns, table, k)).join(', ');
      const result = await tx.query<{ body: string; n: number }>(
        `with _ins as (insert into ${target} (${cols}) select ${cols} from json_populate_recordset(null::${target}, $1::json) returning *)
         select coalesce(json_agg(_t), '[]')::text as body, count(*)::int as n from (select ${returning} from _ins) _t`,
        [JSON.stringify(records)],
      );
      return mutationReply(201, result.rows[0], wantsRows, single);
    }
    case 'PATCH': {
      if (!where) throw safeUpdate('UPDATE');
      const body = parseJsonBody(req.body);
      if (body === null || typeof body !== 'object' || Array.isArray(body)) {
        throw new ApiError(400, { code: 'PGRST102', message: 'PATCH body must be a JSON object', details: null, hint: null });
      }
      const sets = Object.keys(body).map((k) => `${checkColumn(columns, table, k)} = _p.${ident(k)}`);
      params.push(JSON.stringify(body));
      const result = await tx.query<{ body: string; n: number }>(
        `with _upd as (update ${target} set ${sets.join(', ')} from json_populate_record(null::${target}, $${params.length}::json) _p ${where} returning ${target}.*)
         select coalesce(json_agg(_t), '[]')::text as body, count(*)::int as n from (select ${returning} from _upd) _t`,
        params,
      );
      return mutationReply(wantsRows ? 200 : 204, result.rows[0], wantsRows, single);
    }
    case 'DELETE': {
      if (!where) throw safeUpdate('DELETE');
      const result = await tx.query<{ body: string; n: number }>(
        `with _del as (delete from ${target} ${where} returning *)
         select coalesce(json_agg(_t), '[]')::text as body, count(*)::int as n from (select ${returning} from _del) _t`,
        params,
      );
      return mutationReply(wantsRows ? 200 : 204, result.rows[0], wantsRows, single);
    }
    default:
      throw methodNotAllowed(req.method);
  }
}

function mutationReply(status: number, row: { body: string; n: number }, wantsRows: boolean, single: boolean): ApiReply {
  const range = { 'content-range': `*/*` };
  if (!wantsRows) return { status: status === 201 ? 201 : 204, headers: range };
  const reply = single ? singleObject(row.body, row.n) : json(status, row.body);
  reply.headers = { ...reply.headers, ...range };
  return reply;
}

/** `.single()` / `.maybeSingle()`: exactly one row as an object, else 406 PGRST116. */
function singleObject(body: string, n: number): ApiReply {
  if (n !== 1) {
    throw new ApiError(406, {
      code: 'PGRST116',
      message: 'JSON object requested, multiple (or no) rows returned',
      details: `The result contains ${n} rows`,
      hint: null,
    });
  }
  return json(200, JSON.stringify((JSON.parse(body) as unknown[])[0]));
}

function readCount(value: string | null, name: string): number | undefined {
  if (value === null) return undefined;
  if (!/^\d+$/.test(value)) {
    throw new ApiError(400, { code: 'PGRST103', message: `"${name}" must be a non-negative integer, got "${value}"`, details: null, hint: null });
  }
  return Number(value);
}

function parseJsonBody(body: Buffer): unknown {
  try {
    return JSON.parse(body.toString('utf8') || 'null');
  } catch (error) {
    throw new ApiError(400, { code: 'PGRST102', message: `Empty or invalid json: ${(error as Error).message}`, details: null, hint: null });
  }
}

/** Supabase installs pg-safeupdate: an UPDATE or DELETE without a filter is refused. */
const safeUpdate = (verb: string) =>
  new ApiError(400, { code: '21000', message: `${verb} requires a WHERE clause`, details: null, hint: null });

const methodNotAllowed = (method: string) =>
  new ApiError(405, { code: 'PGRST117', message: `Unsupported HTTP method: ${method}`, details: null, hint: null });
