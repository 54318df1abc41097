import { readFile } from 'node:fs/promises';
import { performance } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import { Client } from 'pg';
import { BOOTSTRAP_FILE, listMigrations } from '../../local/db/migrate';

/**
 * The live-migration scenario, shared by test/local/db/live-migration.test.ts (20,000 rows)
 * and `npm run bench migration` (1,000,000): a hosted project's export_logs with the app's
 * trigger, RLS, policies and years of rows; an app writer and an app reader busy on it while
 * the migrations are applied (each file in BEGIN … COMMIT, as `supabase db push` does) and the
 * backfill runs; then what must hold afterwards, as counts of rows that break it.
 *
 * Needs a real PostgreSQL server: the writer, the reader, the migration and the backfill are
 * separate connections running at the same time.
 */

/** Every column of the app's table, in the contract's order (shared contract §1). */
const APP_COLUMNS = 'e.id, e.export_id, e.user_id, e."timestamp", e.format, e.config, e.conversation_count, e.file_size, '
  + 'e.status, e.file_url, e.expires_at, e.error_message, e.created_at, e.updated_at, e.downloaded_count';
/** One row's app columns as text; export-ops' triggers, if they added a column, would not show here. */
export const APP_ROW_TEXT = `(${APP_COLUMNS})::text`;
/** The columns the writer never sets: a row it updates keeps these from before. */
const FIXED_ROW_TEXT = '(e.id, e.export_id, e.user_id, e."timestamp", e.format, e.config, e.conversation_count, e.created_at)::text';
const FINAL = ['completed', 'failed', 'expired'];

export async function connect(url: string): Promise<Client> {
  const client = new Client({ connectionString: url });
  await client.connect();
  return client;
}

/** Users in the seeded history: one per 50 rows. */
const usersFor = (rows: number) => Math.max(10, Math.ceil(rows / 50));

/**
 * What a hosted project has before export-ops: Supabase's roles, auth and storage, and the
 * app's export_logs (bootstrap.sql creates it as the app does: trigger, RLS, three policies,
 * five indexes), then `rows` rows spread over three years: every status, Storage URLs of the
 * three forms, app-relative URLs, undecodable and over-long ones, rows written with a skewed or
 * a future clock (updated_at before created_at, or after now), downloaded and not. Then a
 * snapshot (schema live_test, not the app's) of each row's app columns, to compare after.
 */
export async function seedLiveProject(url: string, rows: number): Promise<void> {
  const client = await connect(url);
  try {
    await client.query(await readFile(BOOTSTRAP_FILE, 'utf8'));
    const users = usersFor(rows);
    await client.query(`insert into auth.users (id, email) select md5('live-user:' || u)::uuid, 'u' || u || '@example.com'
                          from generate_series(0, $1::int - 1) u`, [users]);
    await client.query(
      `insert into public.export_logs (id, export_id, user_id, "timestamp", format, config, conversation_count, file_size, status,
                                       file_url, expires_at, error_message, created_at, updated_at, downloaded_count)
       select md5('live-row:' || i)::uuid, md5('live-export:' || i)::uuid, u::uuid, c,
              (array['json', 'jsonl', 'csv', 'markdown'])[1 + i % 4],
              jsonb_build_object('scope', (array['all', 'selected', 'filtered'])[1 + i % 3], 'includeMetadata', i % 2 = 0),
              i % 900, case when s in ('completed', 'expired') then 1000 + i % 100000 end, s,
              case when s in ('completed', 'expired') then
                case when i % 1000 = 3 then 'https://ref.supabase.co/storage/v1/object/public/exports/' || repeat('a', 3000)
                     when i % 200 = 2 then 'https://ref.supabase.co/storage/v1/object/public/exports/' || u || '/%FF' || i || '.json'
                     when i % 10 = 0 then '/api/export/download/training-data-all-2025-01-01-' || i || '.json'
                     when i % 10 = 1 then 'https://ref.supabase.co/storage/v1/object/sign/exports/' || u || '/training%20data-' || i || '.csv?token=t' || i
                     when i % 10 = 4 then 'https://REF.supabase.co/storage/v1/object/authenticated/exports/' || u || '/training-data-selected-' || i || '.md'
                     else 'https://ref.supabase.co/storage/v1/object/public/exports/' || u || '/training-data-all-2025-01-01-' || i || '.jsonl' end end,
              case when s in ('completed', 'expired') and i % 7 <> 0 then c + interval '24 hours' end,
              case when s = 'failed' then 'TimeoutError: export exceeded 300 s' end,
              c,
              case when i % 97 = 0 then c - interval '1 hour'
                   when i % 89 = 0 then now() + interval '2 days'
                   when s = 'expired' then c + interval '24 hours'
                   else c + make_interval(secs => 5 + i % 600) end,
              case when i % 53 = 0 then null when i % 5 = 0 then 1 + i % 3 else 0 end
         from generate_series(1, $1::int) i,
              lateral (select now() - make_interval(secs => (i::float8 / $1) * 3 * 365 * 86400)) t(c),
              lateral (select case when i % 100 < 70 then 'completed' when i % 100 < 80 then 'failed'
                                   when i % 100 < 92 then 'expired' when i % 100 < 96 then 'queued' else 'processing' end) st(s),
              lateral (select md5('live-user:' || (i % $2))) uu(u)`,
      [rows, users],
    );
    // Rows this old have long been vacuumed (hint bits set, statistics current) on a real table.
    await client.query('vacuum analyze public.export_logs');
    await client.query(`create schema live_test;
      create table live_test.before as
        select e.id, md5(${APP_ROW_TEXT}) as app, md5(${FIXED_ROW_TEXT}) as fixed from public.export_logs e;
      alter table live_test.before add primary key (id)`);
  } finally {
    await client.end();
  }
}

/**
 * The app's catalog state export-ops must leave alone: export_logs' RLS flags, grants,
 * columns, constraints, policies and triggers (but export-ops' own four), every index and
 * every function of public, auth and storage (but public.export_ops_*), default privileges.
 */
export async function appCatalog(client: Client): Promise<Record<string, unknown>> {
  const queries: Record<string, string> = {
    table: `select relrowsecurity, relforcerowsecurity, relacl::text, reloptions::text, relkind
              from pg_class where oid = 'public.export_logs'::regclass`,
    columns: `select attname, format_type(atttypid, atttypmod) as type, attnotnull, pg_get_expr(d.adbin, d.adrelid) as dflt
                from pg_attribute a left join pg_attrdef d on d.adrelid = a.attrelid and d.adnum = a.attnum
               where attrelid = 'public.export_logs'::regclass and attnum > 0 and not attisdropped order by attnum`,
    constraints: `select conname, pg_get_constraintdef(oid) as def from pg_constraint
                   where conrelid = 'public.export_logs'::regclass order by conname`,
    policies: `select policyname, permissive, roles::text, cmd, qual, with_check from pg_policies
                where schemaname = 'public' and tablename = 'export_logs' order by policyname`,
    triggers: `select tgname, tgenabled, pg_get_triggerdef(oid) as def from pg_trigger
                where tgrelid = 'public.export_logs'::regclass and not tgisinternal and tgname not like 'export\\_ops\\_track\\_%'
                order by tgname`,
    indexes: `select schemaname, tablename, indexname, indexdef from pg_indexes
               where schemaname in ('public', 'auth', 'storage') order by 1, 2, 3`,
    functions: `select n.nspname, p.proname, pg_get_function_identity_arguments(p.oid) as args, md5(p.prosrc) as body,
                       p.prosecdef, p.proconfig::text, p.proacl::text
                  from pg_proc p join pg_namespace n on n.oid = p.pronamespace
                 where n.nspname in ('public', 'auth', 'storage') and p.proname not like 'export\\_ops\\_%' order by 1, 2, 3`,
    tables: `select c.oid::regclass::text as name, c.relrowsecurity, c.relacl::text from pg_class c
               join pg_namespace n on n.oid = c.relnamespace
              where n.nspname in ('public', 'auth', 'storage') and c.relkind in ('r', 'p', 'v') order by 1`,
    defaultPrivileges: `select defaclrole::regrole::text, defaclnamespace::regnamespace::text, defaclobjtype, defaclacl::text
                          from pg_default_acl order by 1, 2, 3`,
  };
  const out: Record<string, unknown> = {};
  for (const [name, sql] of Object.entries(queries)) out[name] = (await client.query(sql)).rows;
  return out;
}

/**
 * The locks this session holds right now on the tables every app write goes through: the
 * app's export_logs and, once the triggers are in, export_ops.exports and file_claims.
 */
const HELD_LOCKS = `select coalesce(array_agg(c.oid::regclass::text || ' ' || l.mode order by 1), '{}') as modes
                      from pg_locks l join pg_class c on c.oid = l.relation
                     where l.pid = pg_backend_pid() and l.locktype = 'relation'
                       and c.oid in ('public.export_logs'::regclass, to_regclass('export_ops.exports'), to_regclass('export_ops.file_claims'))`;

export interface AppliedMigrations {
  ms: number;
  /** Per file name, the locks ('<table> <mode>') on the app's write path its transaction held just before COMMIT. */
  locks: Record<string, string[]>;
}

/** Each migration file in its own BEGIN … COMMIT, as `supabase db push` applies them. */
export async function applyFilesInTransactions(client: Client, files?: string[]): Promise<AppliedMigrations> {
  const started = performance.now();
  const locks: Record<string, string[]> = {};
  for (const file of files ?? await listMigrations()) {
    const sql = await readFile(file, 'utf8');
    await client.query('begin');
    try {
      await client.query(sql);
      locks[file.split('/').pop() as string] = (await client.query<{ modes: string[] }>(HELD_LOCKS)).rows[0].modes;
      await client.query('commit');
    } catch (error) {
      await client.query('rollback').catch(() => undefined);
      throw new Error(`applying ${file} failed: ${(error as Error).message}`, { cause: error });
    }
  }
  return { ms: performance.now() - started, locks };
}

export interface BackfillRun {
  steps: number;
  rows: number;
  ms: number;
  /** The slowest single call: an app write to a row of that batch may wait this long. */
  worstStepMs: number;
  done: boolean;
}

/**
 * Calls export_ops_backfill_step as the jobs do (service_role, each call its own transaction)
 * until it returns done, or `maxSteps` calls.
 */
export async function runBackfill(client: Client, limit: number, maxSteps = Infinity): Promise<BackfillRun> {
  await client.query('set role service_role');
  const run: BackfillRun = { steps: 0, rows: 0, ms: 0, worstStepMs: 0, done: false };
  const started = performance.now();
  try {
    while (run.steps < maxSteps && !run.done) {
      const t0 = performance.now();
      const { rows: [{ step }] } = await client.query<{ step: { done: boolean; rows: number; busy?: boolean } }>(
        'select public.export_ops_backfill_step($1) as step', [limit]);
      run.worstStepMs = Math.max(run.worstStepMs, performance.now() - t0);
      run.steps += 1;
      run.rows += step.rows;
      run.done = step.done;
    }
  } finally {
    await client.query('reset role');
  }
  run.ms = performance.now() - started;
  return run;
}

/** What the writer knows of a row it wrote. */
interface Written {
  userId: string;
  status: string;
  /** The row's app columns as its last write returned them. */
  row: string;
  /** now() of the write that first made the row final, and whether export-ops' triggers saw it. */
  firstFinalAt?: string;
  firstFinalTracked?: boolean;
  /** now() of its first write the triggers saw. */
  firstTrackedAt?: string;
}

export interface AppLoad {
  /** Per statement: how long each app statement on export_logs took, ms. */
  writeMs: number[];
  readMs: number[];
  errors: string[];
  written: Map<string, Written>;
}

/** A statement's worst and 99th-percentile latency. */
export function latency(ms: number[]): { count: number; worst: number; p99: number } {
  const sorted = [...ms].sort((a, b) => a - b);
  return { count: sorted.length, worst: sorted.at(-1) ?? 0, p99: sorted[Math.floor(sorted.length * 0.99)] ?? 0 };
}

const storageUrl = (userId: string, name: string) => `https://ref.supabase.co/storage/v1/object/public/exports/${userId}/${name}`;

/**
 * The app at work, on two connections of its own. The writer does one insert or update every
 * 10 ms as the app does through PostgREST: each request a transaction as role `authenticated`
 * with the user's request.jwt.claims, so RLS and the policies apply and export-ops' trigger
 * function runs for a role with no right in export_ops. Statuses move as the app moves them
 * (queued → processing → completed | failed, completed → downloaded or expired), on rows it
 * inserts and on `targets`, pre-existing unfinished rows (pre-existing finished rows are left
 * alone, so each row's expected finished_at is known). The reader does a user's listing every
 * 10 ms, as postgres: a read takes the same ACCESS SHARE lock whatever the role, and it is
 * what DROP TRIGGER's ACCESS EXCLUSIVE would block.
 */
export function startAppLoad(url: string, targets: { id: string; user_id: string; status: string }[], users: string[], avoid: string[] = []) {
  const load: AppLoad = { writeMs: [], readMs: [], errors: [], written: new Map() };
  const mutable = targets.filter((t) => !avoid.includes(t.id)).map((t) => t.id);
  const known = new Map(targets.map((t) => [t.id, t]));
  let stopping = false;
  const pick = <T>(items: T[]) => items[Math.floor(Math.random() * items.length)];

  async function request(client: Client, userId: string, sql: string, params: unknown[]) {
    await client.query('begin');
    try {
      await client.query(`select set_config('role', 'authenticated', true),
                                 set_config('request.jwt.claims', $1, true)`, [JSON.stringify({ sub: userId, role: 'authenticated' })]);
      const t0 = performance.now();
      const result = await client.query<{ id: string; row: string; status: string; at: string }>(sql, params);
      load.writeMs.push(performance.now() - t0);
      const { rows: [{ tracked }] } = await client.query<{ tracked: boolean }>(
        `select exists (select 1 from pg_trigger where tgrelid = 'public.export_logs'::regclass
                                             and tgname = 'export_ops_track_update') as tracked`);
      await client.query('commit');
      if (result.rows.length !== 1) throw new Error(`expected one row back, got ${result.rows.length}`);
      return { ...result.rows[0], tracked };
    } catch (error) {
      await client.query('rollback').catch(() => undefined);
      throw error;
    }
  }

  const returning = `returning e.id, ${APP_ROW_TEXT} as row, e.status, e.updated_at::text as at`;
  async function writeOnce(client: Client) {
    const id = mutable.length && Math.random() < 0.6 ? pick(mutable) : undefined;
    const before = id ? load.written.get(id) ?? { userId: known.get(id)!.user_id, status: known.get(id)!.status, row: '' } : undefined;
    let result;
    if (!id || !before) {
      const userId = pick(users);
      const done = Math.random() < 0.3;
      result = await request(client, userId,
        `insert into public.export_logs as e (export_id, user_id, "timestamp", format, config, conversation_count, status,
                                              file_url, file_size, expires_at)
         values (gen_random_uuid(), $1, now(), 'csv', '{"scope":"all"}', 3, $2, $3, $4,
                 case when $2 = 'completed' then now() + interval '24 hours' end) ${returning}`,
        [userId, done ? 'completed' : 'queued', done ? storageUrl(userId, `new-${Date.now()}.csv`) : null, done ? 1234 : null]);
      load.written.set(result.id, { userId, status: 'queued', row: '' });
      mutable.push(result.id);
    } else if (before.status === 'queued') {
      result = await request(client, before.userId, `update public.export_logs as e set status = 'processing' where id = $1 ${returning}`, [id]);
    } else if (before.status === 'processing' && Math.random() < 0.7) {
      result = await request(client, before.userId,
        `update public.export_logs as e set status = 'completed', file_url = $2, file_size = 4321,
                expires_at = now() + interval '24 hours' where id = $1 ${returning}`, [id, storageUrl(before.userId, `done-${id}.jsonl`)]);
    } else if (before.status === 'processing') {
      result = await request(client, before.userId,
        `update public.export_logs as e set status = 'failed', error_message = 'ExportError: too many conversations'
          where id = $1 ${returning}`, [id]);
    } else if (Math.random() < 0.5) {
      result = await request(client, before.userId,
        `update public.export_logs as e set downloaded_count = coalesce(downloaded_count, 0) + 1 where id = $1 ${returning}`, [id]);
    } else {
      result = await request(client, before.userId, `update public.export_logs as e set status = 'expired' where id = $1 ${returning}`, [id]);
    }
    const entry = load.written.get(result.id) ?? { ...before!, row: '' };
    const wasFinal = FINAL.includes(entry.status) && entry.row !== '';
    entry.row = result.row;
    entry.status = result.status;
    if (result.tracked && !entry.firstTrackedAt) entry.firstTrackedAt = result.at;
    if (FINAL.includes(result.status) && !wasFinal && !entry.firstFinalAt) {
      entry.firstFinalAt = result.at;
      entry.firstFinalTracked = result.tracked;
    }
    load.written.set(result.id, entry);
    const at = mutable.indexOf(result.id);
    if ((result.status === 'failed' || result.status === 'expired') && at >= 0) mutable.splice(at, 1);
  }

  async function loop(kind: 'write' | 'read') {
    const client = await connect(url);
    try {
      while (!stopping) {
        const t0 = performance.now();
        try {
          if (kind === 'write') {
            await writeOnce(client);
          } else {
            const r0 = performance.now();
            await client.query(`select id, status, file_url from public.export_logs where user_id = $1 order by "timestamp" desc limit 20`,
              [pick(users)]);
            load.readMs.push(performance.now() - r0);
          }
        } catch (error) {
          load.errors.push(`${kind}: ${(error as Error).message}`);
        }
        const rest = 10 - (performance.now() - t0);
        if (rest > 0) await sleep(rest);
      }
    } finally {
      await client.end();
    }
  }
  const running = Promise.all([loop('write'), loop('read')]);
  return {
    load,
    async stop(): Promise<AppLoad> {
      stopping = true;
      await running;
      return load;
    },
  };
}

/** Pre-existing unfinished rows for the writer to move on, and some users to insert for. */
export async function appTargets(client: Client, count: number) {
  const { rows: targets } = await client.query<{ id: string; user_id: string; status: string }>(
    `select id, user_id, status from public.export_logs where status in ('queued', 'processing') order by md5(id::text) limit $1`, [count]);
  const { rows: users } = await client.query<{ id: string }>('select id from auth.users order by id limit 200');
  return { targets, users: users.map((u) => u.id) };
}

/** Counts of rows that break what must hold after the migration and a finished backfill (all 0 when right). */
export interface EndState {
  preExisting: number;
  untouched: number;
  checksumBefore: string;
  checksumAfter: string;
  /** Untouched pre-existing rows whose app columns differ from before, or that are gone. */
  untouchedChanged: number;
  writerRows: number;
  /** Rows the writer wrote whose app columns are not exactly what its last write returned. */
  writerRowsDiffer: number;
  /** Pre-existing rows the writer updated whose columns it never set changed. */
  writerFixedChanged: number;
  exportLogs: number;
  exports: number;
  /** export_logs rows with no export_ops.exports row, and exports rows with no export_logs row. */
  untracked: number;
  orphans: number;
  /** Tracked rows whose user_id, created_at, status or expires_at differ from the live row's. */
  mirrorDiffers: number;
  /** Tracked rows whose origin/bucket/path/problem differ from parse_file_url(file_url). */
  derivedDiffers: number;
  /** Untouched pre-existing rows whose finished_at/finished_source differ from the documented fallback. */
  fallbackDiffers: number;
  /** … of which the fallback clamps (updated_at before created_at, or after the install). */
  fallbackClamped: number;
  /** Writer rows made final after the triggers went in: finished_at must be that write's now(), 'observed'. */
  observedChecked: number;
  observedDiffers: number;
  /** Writer rows made final before the triggers went in: fallback within [created_at, installed_at], or observed at the first tracked write. */
  earlyFinalChecked: number;
  earlyFinalDiffers: number;
  /** Writer rows never final that have a finished_at. */
  unfinishedWithFinish: number;
  backfillDone: boolean;
}

/**
 * `alsoTouched`: pre-existing rows the app changed outside the writer (a test's own
 * transaction), left out of the untouched rows' checksum.
 */
export async function checkEndState(client: Client, load: AppLoad, alsoTouched: string[] = []): Promise<EndState> {
  const w = [...load.written.entries()];
  const params = [
    w.map(([id]) => id), w.map(([, x]) => x.row), w.map(([, x]) => x.firstFinalAt ?? null),
    w.map(([, x]) => x.firstFinalTracked ?? null), w.map(([, x]) => x.firstTrackedAt ?? null), w.map(([, x]) => x.status),
  ];
  await client.query(`create temporary table written as
    select * from unnest($1::uuid[], $2::text[], $3::timestamptz[], $4::boolean[], $5::timestamptz[], $6::text[])
      as w(id, row, first_final_at, first_final_tracked, first_tracked_at, status)`, params);
  await client.query('alter table written add primary key (id)');
  const fallback = `case when e.status in ('completed', 'failed') and coalesce(e.downloaded_count, 0) = 0 then 'updated_at'
                         when e.status in ('completed', 'failed', 'expired') then 'created_at' end`;
  const { rows: [s] } = await client.query<Record<string, string | boolean>>(`
    with bf as (select installed_at, completed_at is not null as done from export_ops.backfill),
    untouched as (select b.* from live_test.before b where b.id not in (select id from written) and b.id <> all ($1::uuid[]))
    select
      (select count(*) from live_test.before) as "preExisting",
      (select count(*) from untouched) as untouched,
      (select md5(string_agg(u.app, '' order by u.id)) from untouched u) as "checksumBefore",
      (select md5(string_agg(md5(${APP_ROW_TEXT}), '' order by e.id)) from public.export_logs e
        where e.id in (select id from untouched)) as "checksumAfter",
      (select count(*) from untouched u left join public.export_logs e on e.id = u.id
        where e.id is null or md5(${APP_ROW_TEXT}) <> u.app) as "untouchedChanged",
      (select count(*) from written) as "writerRows",
      (select count(*) from written w left join public.export_logs e on e.id = w.id
        where e.id is null or ${APP_ROW_TEXT} <> w.row) as "writerRowsDiffer",
      (select count(*) from written w join live_test.before b using (id) join public.export_logs e on e.id = w.id
        where md5(${FIXED_ROW_TEXT}) <> b.fixed) as "writerFixedChanged",
      (select count(*) from public.export_logs) as "exportLogs",
      (select count(*) from export_ops.exports) as exports,
      (select count(*) from public.export_logs e left join export_ops.exports x on x.id = e.id where x.id is null) as untracked,
      (select count(*) from export_ops.exports x left join public.export_logs e on e.id = x.id where e.id is null) as orphans,
      (select count(*) from public.export_logs e join export_ops.exports x on x.id = e.id
        where (x.user_id, x.created_at, x.status, x.expires_at) is distinct from (e.user_id, e.created_at, e.status, e.expires_at)) as "mirrorDiffers",
      (select count(*) from public.export_logs e join export_ops.exports x on x.id = e.id
                      cross join lateral export_ops.parse_file_url(e.file_url) p
        where (x.storage_origin, x.storage_bucket, x.storage_path, x.url_problem)
              is distinct from (p.origin, p.bucket, p.path, p.problem)) as "derivedDiffers",
      (select count(*) from untouched u join public.export_logs e on e.id = u.id join export_ops.exports x on x.id = e.id, bf
        where (x.finished_at, x.finished_source) is distinct from (
                case when ${fallback} = 'updated_at' then least(greatest(e.updated_at, e.created_at), bf.installed_at)
                     when ${fallback} = 'created_at' then least(e.created_at, bf.installed_at) end,
                ${fallback})) as "fallbackDiffers",
      (select count(*) from untouched u join public.export_logs e on e.id = u.id, bf
        where ${fallback} = 'updated_at' and (e.updated_at < e.created_at or e.updated_at > bf.installed_at)) as "fallbackClamped",
      (select count(*) from written w where w.first_final_tracked) as "observedChecked",
      (select count(*) from written w left join export_ops.exports x on x.id = w.id
        where w.first_final_tracked and (x.finished_at, x.finished_source) is distinct from (w.first_final_at, 'observed')) as "observedDiffers",
      (select count(*) from written w where not w.first_final_tracked) as "earlyFinalChecked",
      (select count(*) from written w join public.export_logs e on e.id = w.id left join export_ops.exports x on x.id = w.id, bf
        where not w.first_final_tracked
          and not coalesce((x.finished_source = 'observed' and x.finished_at = w.first_tracked_at)
                           or (x.finished_source in ('updated_at', 'created_at')
                               and x.finished_at between e.created_at and bf.installed_at), false)) as "earlyFinalDiffers",
      (select count(*) from written w join export_ops.exports x on x.id = w.id
        where w.first_final_at is null and (x.finished_at is not null or x.finished_source is not null)) as "unfinishedWithFinish",
      (select done from bf) as "backfillDone"`, [alsoTouched]);
  await client.query('drop table written');
  const state = Object.fromEntries(Object.entries(s).map(([k, v]) => [k, typeof v === 'string' && /^\d+$/.test(v) && k !== 'checksumBefore' && k !== 'checksumAfter' ? Number(v) : v]));
  return state as unknown as EndState;
}
