import { mkdir, open } from 'node:fs/promises';
import { join } from 'node:path';
import type { Database } from './db/database';

export interface SeedTarget {
  db: Database;
  /** The stack's object folder: seeded files are written where the local Storage keeps them. */
  storageDir: string;
  /** Base of the Storage URLs written into file_url. */
  supabaseUrl: string;
  /** @default 'exports' */
  exportsBucket?: string;
}

export interface SeedOptions {
  /** How many export rows. */
  count: number;
  /**
   * Spread of created_at back from `now`, in days. Twice the default log retention, so every
   * job finds work. @default 60
   */
  days?: number;
  /** @default the current time */
  now?: Date;
  /** Changes every generated value; the same seed gives the same rows. @default 1 */
  seed?: number;
  /** Upload a file for each completed row with a Storage URL. @default true */
  files?: boolean;
  /** Add the malformed rows (empty path, `..`, absolute, other bucket). @default true */
  malformed?: boolean;
  /**
   * `realistic`: the status mix above. `expired-files`: every row completed, past its expiry,
   * with a stored file — the file cleanup benchmark's input.
   * @default 'realistic'
   */
  mix?: 'realistic' | 'expired-files';
}

export interface SeedSummary {
  rows: number;
  users: number;
  files: number;
  byStatus: Record<string, number>;
  legacy: number;
  malformed: number;
}

/** Rows generated per statement: keeps PGlite's memory bounded at a million rows. */
const SEED_CHUNK = 50_000;
/** Files written concurrently. */
const FILE_WRITE_CONCURRENCY = 64;
/** See SeedOptions.days. */
const DEFAULT_SEED_DAYS = 60;
/** Exports per user, on average. */
const EXPORTS_PER_USER = 25;

/**
 * Seeds realistic export history: all four formats, a status mix (failed with `Kind: detail`
 * messages, queued/processing, expired, completed), sizes and conversation counts, files in the
 * exports bucket at `<user_id>/<file name>`, legacy rows with app-relative URLs and no file, and
 * a few malformed rows. Files are sparse: their size is the row's file_size, their disk use tiny.
 *
 * @example
 * await seedExports(stack, { count: 1000, days: 30 });
 */
export async function seedExports(target: SeedTarget, options: SeedOptions): Promise<SeedSummary> {
  const { db } = target;
  const bucket = target.exportsBucket ?? 'exports';
  const seed = options.seed ?? 1;
  const days = options.days ?? DEFAULT_SEED_DAYS;
  const now = (options.now ?? new Date()).toISOString();
  const users = Math.max(1, Math.ceil(options.count / EXPORTS_PER_USER));
  const base = target.supabaseUrl.replace(/\/+$/, '');

  await db.query(
    `insert into auth.users (id, email)
     select md5('user:' || $1 || ':' || u)::uuid, 'user' || u || '@example.com' from generate_series(0, $2 - 1) u
     on conflict (id) do nothing`,
    [seed, users],
  );

  let files = 0;
  for (let start = 1; start <= options.count; start += SEED_CHUNK) {
    const end = Math.min(options.count, start + SEED_CHUNK - 1);
    await db.query(SEED_ROWS_SQL, [seed, start, end, users, days, now, base, bucket, options.mix === 'expired-files']);
    // Statistics for the two joins below: planned on a new table's empty statistics, they ran
    // as nested loops over every row (a 10,000-row seed took 56 s on PostgreSQL, 100,000 took 24 s).
    await db.query('analyze public.export_logs, export_ops.exports');
    await db.query(SEED_FINISH_TIMES_SQL, [seed, start, end]);
    if (options.files !== false) files += await createFiles(target, bucket, seed, start, end);
  }
  const malformed = options.malformed === false ? 0 : await seedMalformed(db, base, bucket, seed, now);

  const { rows } = await db.query<{ status: string; n: number; legacy: number }>(
    `select status, count(*)::int as n, count(*) filter (where file_url like '/api/%')::int as legacy
       from public.export_logs where config ->> 'seed' = $1 group by status`,
    [String(seed)],
  );
  return {
    rows: options.count + malformed,
    users,
    files,
    byStatus: Object.fromEntries(rows.map((r) => [r.status, r.n])),
    legacy: rows.reduce((sum, r) => sum + r.legacy, 0),
    malformed,
  };
}

// $1 seed, $2..$3 row numbers, $4 users, $5 days, $6 now, $7 Supabase URL, $8 bucket,
// $9 every row completed, expired and with a file (created over 25 h ago, so past its 24 h expiry).
// r(k) is a deterministic pseudo-random number in [0, 1) for row i.
const SEED_ROWS_SQL = `
with base as (
  select i,
         md5('export:' || $1 || ':' || i)::uuid as export_id,
         md5('user:' || $1 || ':' || (i % $4))::uuid as user_id,
         (array['json', 'jsonl', 'csv', 'markdown'])[1 + i % 4] as format,
         (array['all', 'selected', 'filtered'])[1 + (i / 4) % 3] as scope,
         (abs(hashtext($1 || ':a:' || i)) % 1000000) / 1e6 as r1,
         (abs(hashtext($1 || ':b:' || i)) % 1000000) / 1e6 as r2,
         (abs(hashtext($1 || ':c:' || i)) % 1000000) / 1e6 as r3,
         (abs(hashtext($1 || ':d:' || i)) % 1000000) / 1e6 as r4
    from generate_series($2::int, $3::int) i),
shaped as (
  select *,
         $6::timestamptz - make_interval(secs => case when $9 then 90000 else 0 end + r1 * $5 * 86400) as created,
         (5 + floor(r2 * r2 * 1500))::int as conversations,
         case when $9 then 'completed' when r3 < 0.08 then 'failed' when r3 < 0.10 then 'queued' when r3 < 0.12 then 'processing'
              when r3 < 0.40 then 'expired' else 'completed' end as state
    from base),
named as (
  select *,
         'training-data-' || scope || '-' || to_char(created, 'YYYY-MM-DD') || '-' || conversations || '-'
           || left(export_id::text, 8) || '.' || case format when 'markdown' then 'md' else format end as file_name
    from shaped)
insert into public.export_logs
  (export_id, user_id, "timestamp", format, config, conversation_count, file_size, status, file_url,
   expires_at, error_message, created_at, updated_at)
select export_id, user_id, created, format,
       jsonb_build_object('scope', scope, 'includeMetadata', true, 'filters', '{}'::jsonb, 'seed', $1::text),
       conversations,
       case when state in ('completed', 'expired') then
         (conversations * case format when 'json' then 2400 when 'jsonl' then 2200 when 'csv' then 1500 else 1800 end
           * (0.8 + 0.4 * r4))::bigint end,
       state,
       case when state not in ('completed', 'expired') then null
            when r4 < 0.05 and not $9 then '/api/export/download/' || file_name
            else $7 || '/storage/v1/object/' || (array['public', 'sign', 'authenticated'])[1 + i % 3] || '/' || $8 || '/'
                 || user_id || '/' || file_name || case when i % 3 = 1 then '?token=seed' || i else '' end
       end,
       case when state in ('completed', 'expired') then created + interval '24 hours' end,
       case when state = 'failed' then (array['TimeoutError: export exceeded 300 s', 'StorageError: upload failed with 503',
         'ValidationError: no conversations match the filters', 'QuotaExceeded: daily export limit reached'])[1 + i % 4] end,
       created,
       created + make_interval(secs => (300 + conversations * (8 + 4 * r4)) / 1000.0)
  from named
on conflict (export_id) do nothing`;

// History as export-ops would have seen it: the triggers stamped each final row when it was
// written (now, for a seed), so move the stamp back to when the row really finished. Expired
// rows finished (completed) before they expired: updated_at is that finish here.
const SEED_FINISH_TIMES_SQL = `
update export_ops.exports x
   set finished_at = e.updated_at, finished_source = 'observed'
  from public.export_logs e
 where e.id = x.id and x.finished_at is not null
   and e.export_id in (select md5('export:' || $1 || ':' || i)::uuid from generate_series($2::int, $3::int) i)`;

/** Creates the stored objects of completed rows i in [start, end], as the app's uploads would. */
async function createFiles(target: SeedTarget, bucket: string, seed: number, start: number, end: number): Promise<number> {
  const { rows } = await target.db.query<{ id: string; size: string | number }>(
    `insert into storage.objects (bucket_id, name, owner, metadata)
     select x.storage_bucket, x.storage_path, e.user_id,
            jsonb_build_object('size', file_size, 'contentLength', file_size, 'mimetype',
              case format when 'csv' then 'text/csv' when 'markdown' then 'text/markdown' else 'application/json' end,
              'eTag', '"' || md5(e.export_id::text) || '"', 'lastModified', e.created_at, 'cacheControl', 'max-age=3600',
              'httpStatusCode', 200)
       from public.export_logs e join export_ops.exports x on x.id = e.id
      where e.export_id in (select md5('export:' || $1 || ':' || i)::uuid from generate_series($2::int, $3::int) i)
        and e.status = 'completed' and x.storage_bucket = $4 and x.storage_path is not null
     on conflict (bucket_id, name) do nothing
     returning id, (metadata ->> 'size') as size`,
    [seed, start, end, bucket],
  );
  const dir = join(target.storageDir, encodeURIComponent(bucket));
  await mkdir(dir, { recursive: true });
  for (let i = 0; i < rows.length; i += FILE_WRITE_CONCURRENCY) {
    await Promise.all(rows.slice(i, i + FILE_WRITE_CONCURRENCY).map(async ({ id, size }) => {
      const file = await open(join(dir, id), 'w');
      try {
        await file.write('{"seeded":true}\n');
        await file.truncate(Number(size));
      } finally {
        await file.close();
      }
    }));
  }
  return rows.length;
}

/**
 * Completed, long-expired rows whose URL must never reach a remove() call: empty path, `..`,
 * absolute, another bucket, a foreign host, another user's folder.
 */
async function seedMalformed(db: Database, base: string, bucket: string, seed: number, now: string): Promise<number> {
  const urls = [
    `${base}/storage/v1/object/public/${bucket}/`,
    `${base}/storage/v1/object/public/${bucket}/USER/../other-user/secret.json`,
    `${base}/storage/v1/object/public/${bucket}//etc/passwd`,
    `${base}/storage/v1/object/public/avatars/USER/avatar.png`,
    `https://attacker.example/storage/v1/object/public/${bucket}/USER/copy.json`,
    `${base}/storage/v1/object/public/${bucket}/00000000-0000-0000-0000-00000000b0b0/not-mine.json`,
  ];
  const { rows } = await db.query(
    `insert into public.export_logs (export_id, user_id, "timestamp", format, config, conversation_count, file_size,
                                     status, file_url, expires_at, created_at, updated_at)
     select md5('malformed:' || $1 || ':' || n)::uuid, md5('user:' || $1 || ':0')::uuid, $3::timestamptz - interval '3 days',
            'json', jsonb_build_object('scope', 'all', 'seed', $1::text, 'malformed', true), 1, 100, 'completed',
            replace(url, 'USER', md5('user:' || $1 || ':0')::uuid::text), $3::timestamptz - interval '2 days',
            $3::timestamptz - interval '3 days', $3::timestamptz - interval '3 days'
       from unnest($2::text[]) with ordinality as u(url, n)
     on conflict (export_id) do nothing returning id`,
    [seed, `{${urls.map((u) => `"${u}"`).join(',')}}`, now],
  );
  return rows.length;
}
