import { createHash } from 'node:crypto';
import { mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Database } from '../db/database';
import { ApiError, type ApiReply, type ApiRequest, asRole, json } from './api';

/**
 * The Supabase Storage subset the jobs, the seeding tool and the tests use: buckets, upload,
 * download, list and bulk remove, with the real service's semantics (contract §2). An object is
 * a `storage.objects` row plus a file named by the object's id under `<storageDir>/<bucket>/`.
 */
export interface StorageOptions {
  /** Folder for object contents. */
  storageDir: string;
  /**
   * Refuse bulk requests of more than {@link BULK_OBJECT_LIMIT} names, as the hosted service does
   * (its "request hard limits"). Off, only the 1 MiB body limit bounds a request.
   * @default true
   */
  hardLimits?: boolean;
}

/** Hosted Storage refuses bulk object requests above this many names, and then deletes nothing. */
export const BULK_OBJECT_LIMIT = 1000;
/** Storage deletes in batches of this many names, each its own transaction: a 1000-name call is not atomic. */
export const DELETE_BATCH_SIZE = 500;
/** Fastify's default JSON body limit in the Storage server. */
export const JSON_BODY_LIMIT = 1024 * 1024;
/** The Storage server's default upload limit (FILE_SIZE_LIMIT). */
export const FILE_SIZE_LIMIT = 50 * 1024 * 1024;
/** Default and largest page for list(). */
const LIST_DEFAULT_LIMIT = 100;
const LIST_MAX_LIMIT = 1500;
const SORT_COLUMNS = new Set(['name', 'created_at', 'updated_at', 'last_accessed_at']);
/** Storage's isValidKey(): S3-safe characters only. */
const VALID_KEY = /^(\w|\/|!|-|\.|\*|'|\(|\)| |&|\$|@|=|;|:|\+|,|\?)*$/;

/** Storage answers every client error with HTTP 400 and the real status in the body (contract §2). */
export function storageError(statusCode: number, error: string, message: string, httpStatus = statusCode >= 500 ? statusCode : 400): ApiError {
  return new ApiError(httpStatus, { statusCode: String(statusCode), code: error, error, message });
}

const notFound = () => storageError(404, 'not_found', 'Object not found');

export function createStorageHandler(db: Database, options: StorageOptions) {
  const hardLimits = options.hardLimits ?? true;
  const fileOf = (bucket: string, id: string) => join(options.storageDir, encodeURIComponent(bucket), id);

  async function createBucket(req: ApiRequest): Promise<ApiReply> {
    const body = parseJson(req.body) as { id?: string; name?: string; public?: boolean };
    const name = body.name ?? body.id;
    if (!name || !/^(\w|!|-|\.|\*|'|\(|\)| |&|\$|@|=|;|:|\+|,|\?)*$/.test(name)) {
      throw storageError(400, 'InvalidBucketName', `Bucket name invalid: ${String(name)}`);
    }
    const inserted = await asRole(db, req, (tx) =>
      tx.query(`insert into storage.buckets (id, name, public) values ($1, $2, $3) on conflict do nothing returning id`, [body.id ?? name, name, body.public === true]),
    );
    if (inserted.rows.length === 0) throw storageError(409, 'Duplicate', 'The resource already exists');
    return json(200, { name });
  }

  async function getBucket(req: ApiRequest, id: string): Promise<ApiReply> {
    const { rows } = await asRole(db, req, (tx) => tx.query(`select * from storage.buckets where id = $1`, [id]));
    if (!rows[0]) throw storageError(404, 'not_found', 'Bucket not found');
    return json(200, rows[0]);
  }

  /**
   * Storage looks the bucket up as its own superuser, bypassing RLS (supabase/storage
   * src/storage/storage.ts, fromBucketId: `this.db.asSuperUser().findBucketById`); only the
   * object row is written as the caller. So a caller without rights is refused by the objects
   * policy (statusCode "403"), not told that the bucket does not exist.
   */
  async function mustFindBucket(bucket: string): Promise<void> {
    const { rows } = await db.query(`select 1 from storage.buckets where id = $1`, [bucket]);
    if (!rows[0]) throw storageError(404, 'Bucket not found', 'Bucket not found');
  }

  async function upload(req: ApiRequest, bucket: string, name: string): Promise<ApiReply> {
    if (!name || !VALID_KEY.test(name)) throw storageError(400, 'InvalidKey', `Invalid key: ${name}`);
    const { content, mimetype, cacheControl } = await readUpload(req);
    if (content.length > FILE_SIZE_LIMIT) throw storageError(413, 'EntityTooLarge', 'The object exceeded the maximum allowed size');
    const upsert = req.method === 'PUT' || String(req.headers['x-upsert']) === 'true';
    const metadata = {
      eTag: `"${createHash('md5').update(content).digest('hex')}"`,
      size: content.length,
      mimetype,
      cacheControl,
      lastModified: new Date().toISOString(),
      contentLength: content.length,
      httpStatusCode: 200,
    };
    await mustFindBucket(bucket);
    const row = await asRole(db, req, async (tx) => {
      const conflict = upsert
        ? `on conflict (bucket_id, name) do update set metadata = excluded.metadata, updated_at = now(), owner = excluded.owner`
        : `on conflict (bucket_id, name) do nothing`;
      const { rows } = await tx.query<{ id: string }>(
        `insert into storage.objects (bucket_id, name, owner, metadata) values ($1, $2, $3, $4::jsonb) ${conflict} returning id`,
        [bucket, name, req.claims.sub ?? null, JSON.stringify(metadata)],
      );
      if (!rows[0]) throw storageError(409, 'Duplicate', 'The resource already exists');
      // Written inside the transaction: a failed write rolls the row back with it.
      await mkdir(join(options.storageDir, encodeURIComponent(bucket)), { recursive: true });
      await writeFile(fileOf(bucket, rows[0].id), content);
      return rows[0];
    });
    return json(200, { Key: `${bucket}/${name}`, Id: row.id });
  }

  async function download(req: ApiRequest, bucket: string, name: string, publicRoute: boolean): Promise<ApiReply> {
    const lookup = `select o.id, o.metadata from storage.objects o join storage.buckets b on b.id = o.bucket_id
                     where o.bucket_id = $1 and o.name = $2 ${publicRoute ? 'and b.public' : ''}`;
    // Public objects are served without RLS, as Storage does; everything else as the caller's role.
    const { rows } = publicRoute
      ? await db.query<{ id: string; metadata: Record<string, unknown> }>(lookup, [bucket, name])
      : await asRole(db, req, (tx) => tx.query<{ id: string; metadata: Record<string, unknown> }>(lookup, [bucket, name]));
    if (!rows[0]) throw notFound();
    const content = await readFile(fileOf(bucket, rows[0].id)).catch(() => { throw notFound(); });
    const meta = rows[0].metadata ?? {};
    return {
      status: 200,
      headers: {
        'content-type': String(meta.mimetype ?? 'application/octet-stream'),
        'cache-control': String(meta.cacheControl ?? 'no-cache'),
        etag: String(meta.eTag ?? ''),
        'content-length': String(content.length),
      },
      body: content,
    };
  }

  async function list(req: ApiRequest, bucket: string): Promise<ApiReply> {
    const body = parseJson(req.body) as {
      prefix?: string; limit?: number; offset?: number; search?: string; sortBy?: { column?: string; order?: string };
    };
    const folder = (body.prefix ?? '').replace(/\/+$/, '');
    const prefix = folder ? `${folder}/` : '';
    const limit = Math.min(Math.max(Number(body.limit ?? LIST_DEFAULT_LIMIT), 0), LIST_MAX_LIMIT);
    const offset = Math.max(Number(body.offset ?? 0), 0);
    const column = SORT_COLUMNS.has(body.sortBy?.column ?? 'name') ? (body.sortBy?.column ?? 'name') : 'name';
    const order = body.sortBy?.order?.toLowerCase() === 'desc' ? 'desc' : 'asc';
    const { rows } = await asRole(db, req, (tx) =>
      tx.query<{ body: string }>(
        `with children as (
           select split_part(substr(name, length($2) + 1), '/', 1) as item,
                  strpos(substr(name, length($2) + 1), '/') > 0 as is_folder, o.*
             from storage.objects o
            where bucket_id = $1 and left(name, length($2)) = $2),
         entries as (
           select item as name, null::uuid as id, null::timestamptz as updated_at, null::timestamptz as created_at,
                  null::timestamptz as last_accessed_at, null::jsonb as metadata
             from children where is_folder group by item
           union all
           select item, id, updated_at, created_at, last_accessed_at, metadata from children where not is_folder)
         select coalesce(json_agg(e), '[]')::text as body from (
           select * from entries where name ilike $3 || '%'
            order by ${column} ${order} nulls first, name limit ${limit} offset ${offset}) e`,
        [bucket, prefix, body.search ?? ''],
      ),
    );
    return json(200, rows[0].body);
  }

  async function removeMany(req: ApiRequest, bucket: string): Promise<ApiReply> {
    const body = parseJson(req.body) as { prefixes?: unknown };
    const names = body.prefixes;
    if (!Array.isArray(names) || names.some((n) => typeof n !== 'string')) {
      throw storageError(400, 'InvalidRequest', 'body/prefixes must be array of strings');
    }
    if (names.length < 1) throw storageError(400, 'InvalidRequest', 'body/prefixes must NOT have fewer than 1 items');
    if (hardLimits && names.length > BULK_OBJECT_LIMIT) {
      throw storageError(400, 'InvalidRequest', `Bulk object requests are limited to ${BULK_OBJECT_LIMIT} objects per request.`);
    }
    const deleted: Record<string, unknown>[] = [];
    for (let i = 0; i < names.length; i += DELETE_BATCH_SIZE) {
      const batch = names.slice(i, i + DELETE_BATCH_SIZE);
      const { rows } = await asRole(db, req, (tx) =>
        tx.query<{ row: Record<string, unknown> }>(
          `delete from storage.objects where bucket_id = $1 and name in (select jsonb_array_elements_text($2::jsonb))
           returning to_jsonb(storage.objects.*) as row`,
          [bucket, JSON.stringify(batch)],
        ),
      );
      // Rows first, then blobs, as Storage does: a crash here leaves a file with no row, never a row with no file.
      await Promise.all(rows.map(({ row }) => rm(fileOf(bucket, String(row.id)), { force: true })));
      deleted.push(...rows.map((r) => r.row));
    }
    return json(200, deleted);
  }

  async function removeOne(req: ApiRequest, bucket: string, name: string): Promise<ApiReply> {
    const { rows } = await asRole(db, req, (tx) =>
      tx.query<{ id: string }>(`delete from storage.objects where bucket_id = $1 and name = $2 returning id`, [bucket, name]),
    );
    if (!rows[0]) throw notFound();
    await rm(fileOf(bucket, rows[0].id), { force: true });
    return json(200, { message: 'Successfully deleted' });
  }

  return async function handleStorage(req: ApiRequest): Promise<ApiReply> {
    try {
      return await route(req);
    } catch (error) {
      if (error instanceof ApiError) throw error;
      const code = (error as { code?: unknown }).code;
      // Storage reports an RLS refusal as 403 in the body; other database faults as 500.
      if (code === '42501') throw storageError(403, 'Unauthorized', (error as Error).message);
      throw storageError(500, 'DatabaseError', (error as Error).message);
    }
  };

  async function route(req: ApiRequest): Promise<ApiReply> {
    const { method } = req;
    const segments = req.path.split('/').map(decodeURIComponent);
    const [head, second] = segments;
    if (head === 'bucket') {
      if (method === 'POST' && segments.length === 1) return createBucket(req);
      if (method === 'GET' && second) return getBucket(req, second);
    }
    if (head === 'object') {
      if (method === 'POST' && second === 'list' && segments[2]) return list(req, segments[2]);
      if (method === 'DELETE' && segments.length === 2) return removeMany(req, second);
      if (method === 'GET' && (second === 'public' || second === 'authenticated') && segments.length > 3) {
        return download(req, segments[2], segments.slice(3).join('/'), second === 'public');
      }
      if (segments.length > 2) {
        const name = segments.slice(2).join('/');
        if (method === 'POST' || method === 'PUT') return upload(req, second, name);
        if (method === 'GET') return download(req, second, name, false);
        if (method === 'DELETE') return removeOne(req, second, name);
      }
    }
    throw storageError(404, 'not_found', `Route ${method}:/storage/v1/${req.path} not found`, 404);
  }
}

function parseJson(body: Buffer): Record<string, unknown> {
  if (body.length > JSON_BODY_LIMIT) throw storageError(413, 'Payload Too Large', 'Request body is too large');
  try {
    const value = JSON.parse(body.toString('utf8') || '{}');
    if (value && typeof value === 'object') return value;
  } catch {
    // fall through to the same answer Storage gives for any unparsable body
  }
  throw storageError(400, 'InvalidRequest', 'Body is not valid JSON');
}

/** Reads an upload sent raw (Buffer body) or as multipart form data (Blob/File body), as storage-js may do. */
async function readUpload(req: ApiRequest): Promise<{ content: Buffer; mimetype: string; cacheControl: string }> {
  const type = String(req.headers['content-type'] ?? 'application/octet-stream');
  const cacheControl = String(req.headers['cache-control'] ?? 'max-age=3600');
  if (!type.startsWith('multipart/form-data')) return { content: req.body, mimetype: type, cacheControl };
  const form = await new Request('http://local/', { method: 'POST', headers: { 'content-type': type }, body: new Uint8Array(req.body) }).formData();
  const file = [...form.values()].find((v): v is File => typeof v !== 'string');
  if (!file) throw storageError(400, 'InvalidRequest', 'No file in the form data');
  const cacheField = form.get('cacheControl');
  return {
    content: Buffer.from(await file.arrayBuffer()),
    mimetype: file.type || 'application/octet-stream',
    cacheControl: typeof cacheField === 'string' ? `max-age=${cacheField}` : cacheControl,
  };
}
