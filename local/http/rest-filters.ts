import { ApiError, ident } from './api';

export interface Column {
  name: string;
  type: string;
}

export interface TableRef {
  columns: Map<string, Column>;
  table: string;
  /** Quoted `schema.table` that qualifies every column (UPDATE … FROM has other columns in scope). */
  qualifier: string;
}

/** Query parameters that are not column filters. */
const RESERVED = new Set(['select', 'order', 'limit', 'offset', 'columns', 'on_conflict']);

const COMPARISONS: Record<string, string> = { eq: '=', neq: '<>', lt: '<', lte: '<=', gt: '>', gte: '>=', like: 'like', ilike: 'ilike' };
const IS_VALUES: Record<string, string> = { null: 'null', true: 'true', false: 'false', unknown: 'unknown' };

function badFilter(message: string): ApiError {
  return new ApiError(400, { code: 'PGRST100', message, details: null, hint: null });
}

function column(ref: TableRef, name: string): string {
  if (!ref.columns.has(name)) {
    throw new ApiError(400, { code: '42703', message: `column ${ref.table}.${name} does not exist`, details: null, hint: null });
  }
  return `${ref.qualifier}.${ident(name)}`;
}

/** Splits PostgREST's `(a,b,"c,d")` list syntax into its values. */
export function parseInList(raw: string): string[] {
  if (!raw.startsWith('(') || !raw.endsWith(')')) throw badFilter(`"in" needs a list like (a,b), got "${raw}"`);
  const values: string[] = [];
  const body = raw.slice(1, -1);
  let i = 0;
  while (i < body.length) {
    if (body[i] === '"') {
      let value = '';
      i += 1;
      while (i < body.length && body[i] !== '"') {
        if (body[i] === '\\' && i + 1 < body.length) i += 1;
        value += body[i];
        i += 1;
      }
      values.push(value);
      i += 2; // closing quote and comma
    } else {
      const end = body.indexOf(',', i);
      values.push(body.slice(i, end === -1 ? body.length : end));
      i = end === -1 ? body.length : end + 1;
    }
  }
  return values;
}

/** A PostgreSQL array literal for a bound parameter: `{"a","b"}`, every element quoted. */
const arrayLiteral = (values: string[]) => `{${values.map((v) => `"${v.replace(/[\\"]/g, (c) => `\\${c}`)}"`).join(',')}}`;

function condition(ref: TableRef, name: string, spec: string, params: unknown[]): string {
  const col = column(ref, name);
  const negated = spec.startsWith('not.');
  const rest = negated ? spec.slice(4) : spec;
  const dot = rest.indexOf('.');
  if (dot === -1) throw badFilter(`"${name}=${spec}": expected operator.value`);
  const op = rest.slice(0, dot);
  const value = rest.slice(dot + 1);
  let sql: string;
  if (op in COMPARISONS) {
    params.push(op === 'like' || op === 'ilike' ? value.replace(/\*/g, '%') : value);
    sql = `${col} ${COMPARISONS[op]} $${params.length}`;
  } else if (op === 'in') {
    params.push(arrayLiteral(parseInList(value)));
    sql = `${col} = any($${params.length})`;
  } else if (op === 'is') {
    const literal = IS_VALUES[value.toLowerCase()];
    if (!literal) throw badFilter(`"is" takes null, true, false or unknown, got "${value}"`);
    sql = `${col} is ${literal}`;
  } else {
    throw badFilter(`"${op}" is not an operator the local server supports (eq neq lt lte gt gte like ilike in is, and not.<op>)`);
  }
  return negated ? `not (${sql})` : sql;
}

/** `where …` from the request's column filters (empty string when there are none). */
export function buildWhere(query: URLSearchParams, ref: TableRef, params: unknown[]): string {
  const conditions: string[] = [];
  for (const [name, spec] of query.entries()) {
    if (RESERVED.has(name)) continue;
    if (name === 'or' || name === 'and') throw badFilter(`"${name}" filters are not supported by the local server`);
    conditions.push(condition(ref, name, spec, params));
  }
  return conditions.length ? `where ${conditions.join(' and ')}` : '';
}

/** `order by …` from `order=col.asc,other.desc.nullslast`. */
export function parseOrder(order: string | null, ref: TableRef): string {
  if (!order) return '';
  const terms = order.split(',').map((term) => {
    const [name, ...modifiers] = term.split('.');
    const parts = [column(ref, name)];
    for (const m of modifiers) {
      if (m === 'asc' || m === 'desc') parts.push(m);
      else if (m === 'nullsfirst') parts.push('nulls first');
      else if (m === 'nullslast') parts.push('nulls last');
      else throw badFilter(`"${term}": unknown order modifier "${m}"`);
    }
    return parts.join(' ');
  });
  return `order by ${terms.join(', ')}`;
}
