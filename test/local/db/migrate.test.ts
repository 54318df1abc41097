import type { Queryable } from '../../../local/db/database';
import { applyMigrations } from '../../../local/db/migrate';
import type { LocalStack } from '../../../local/stack';
import { databaseMode, startTestStack } from '../../support/stack';

/** A fingerprint of everything the migration owns: columns, functions, grants, policies, indexes. */
async function schemaFingerprint(db: Queryable): Promise<string> {
  const { rows } = await db.query<{ item: string }>(`
    select 'column ' || table_schema || '.' || table_name || '.' || column_name || ' ' || data_type as item
      from information_schema.columns where table_schema in ('public', 'export_ops')
    union all
    select 'function ' || p.oid::regprocedure::text || ' ' || coalesce(array_to_string(p.proacl, ','), '')
      from pg_proc p join pg_namespace n on n.oid = p.pronamespace
     where n.nspname = 'export_ops' or p.proname like 'export\\_ops\\_%'
    union all
    select 'index ' || indexname from pg_indexes where schemaname in ('public', 'export_ops')
    union all
    select 'policy ' || tablename || ' ' || policyname from pg_policies where schemaname = 'public'
    union all
    select 'trigger ' || tgname from pg_trigger where tgrelid = 'public.export_logs'::regclass and not tgisinternal
    order by 1`);
  return rows.map((r) => r.item).join('\n');
}

describe(`migration on ${databaseMode}`, () => {
  let stack: LocalStack;
  beforeAll(async () => {
    stack = await startTestStack();
  });
  afterAll(() => stack.stop());

  test('applying it again changes nothing (the stack applied it once already)', async () => {
    const before = await schemaFingerprint(stack.db);
    await applyMigrations(stack.db);
    expect(await schemaFingerprint(stack.db)).toBe(before);
    expect(before).toContain('function export_ops_start_run');
  });

  test("adds nothing to the app's table: its columns are the app's own", async () => {
    const { rows } = await stack.db.query<{ column_name: string }>(
      `select column_name from information_schema.columns where table_schema = 'public' and table_name = 'export_logs'`,
    );
    expect(rows.map((r) => r.column_name).sort()).toEqual([
      'config', 'conversation_count', 'created_at', 'downloaded_count', 'error_message', 'expires_at', 'export_id',
      'file_size', 'file_url', 'format', 'id', 'status', 'timestamp', 'updated_at', 'user_id',
    ]);
  });

  test.each([
    ['https://p.supabase.co/storage/v1/object/public/exports/u1/a.json', 'https://p.supabase.co', 'exports', 'u1/a.json', null],
    ['https://P.Supabase.co/storage/v1/object/sign/exports/u1/a%20b.json?token=x.y', 'https://p.supabase.co', 'exports', 'u1/a b.json', null],
    ['https://p.supabase.co/storage/v1/object/authenticated/exports/u1/%2541.csv', 'https://p.supabase.co', 'exports', 'u1/%41.csv', null],
    ['https://p.supabase.co/storage/v1/object/public/exports/u1%2Fa.json', 'https://p.supabase.co', 'exports', 'u1/a.json', null],
    ['https://p.supabase.co/storage/v1/object/public/avatars/u1/a.png', 'https://p.supabase.co', 'avatars', 'u1/a.png', null],
    ['https://p.supabase.co/storage/v1/object/public/exports/', 'https://p.supabase.co', 'exports', '', null],
    ['http://127.0.0.1:54321/storage/v1/object/public/exports/u/a.md#frag', 'http://127.0.0.1:54321', 'exports', 'u/a.md', null],
    ['/api/export/download/training-data-all-2026-11-01-3.json', null, null, null, null],
    ['/storage/v1/object/public/exports/u/a.json', null, 'exports', 'u/a.json', null],
    ['https://evil.example/storage/v1/object/public/exports/u/a.json', 'https://evil.example', 'exports', 'u/a.json', null],
    // Not at the start of the URL's path: not a Storage object URL at all.
    ['https://evil.example/x/storage/v1/object/public/exports/u/a.json', 'https://evil.example', null, null, null],
    ['https://evil.example/?next=https://p.supabase.co/storage/v1/object/public/exports/u/a.json', 'https://evil.example', null, null, null],
    ['https://p.supabase.co/storage/v1/object/public/exports/u1/%FF.json', 'https://p.supabase.co', null, null, 'undecodable_path'],
    ['https://p.supabase.co/storage/v1/object/public/exports/u1/%00.json', 'https://p.supabase.co', null, null, 'undecodable_path'],
    [`https://p.supabase.co/storage/v1/object/public/exports/u1/${'a'.repeat(2100)}`, null, null, null, 'url_too_long'],
  ].map(([url, ...rest]) => [url!.length > 100 ? `${url!.slice(0, 60)}… (${url!.length} characters)` : url, url, ...rest]))(
    'reads %s', async (_name, url, origin, bucket, path, problem) => {
    const { rows } = await stack.db.query(`select origin, bucket, path, problem from export_ops.parse_file_url($1)`, [url]);
    const expected = problem === 'undecodable_path' ? { origin, bucket: 'exports', path: null, problem } : { origin, bucket, path, problem };
    expect(rows[0]).toEqual(expected);
  });

  test('percent-decoding is linear: a 240 KB URL of escapes decodes in well under a second', async () => {
    const started = Date.now();
    const { rows } = await stack.db.query<{ n: number }>(`select length(export_ops.percent_decode(repeat('%41', 80000)))::int as n`);
    expect(rows[0].n).toBe(80_000);
    expect(Date.now() - started).toBeLessThan(5_000);
  });

  test("the triggers track rows the app writes, set finished_at once, and follow updates, id changes and deletes", async () => {
    await stack.db.query(`insert into auth.users (id) values ('00000000-0000-0000-0000-0000000000a1') on conflict do nothing`);
    const { rows: [row] } = await stack.db.query<{ id: string }>(
      `insert into public.export_logs (export_id, user_id, "timestamp", format, config, conversation_count, status)
       values (gen_random_uuid(), '00000000-0000-0000-0000-0000000000a1', now(), 'csv', '{}', 4, 'processing') returning id`,
    );
    const tracked = async (id: string) => (await stack.db.query<{ status: string; path: string | null; finished_at: Date | null; source: string | null }>(
      `select status, storage_path as path, finished_at, finished_source as source from export_ops.exports where id = $1`, [id])).rows[0];
    expect(await tracked(row.id)).toEqual({ status: 'processing', path: null, finished_at: null, source: null });
    await stack.db.query(
      `update public.export_logs set status = 'completed', file_url = 'https://x.supabase.co/storage/v1/object/public/exports/u/f.csv' where id = $1`,
      [row.id],
    );
    const done = await tracked(row.id);
    expect(done).toMatchObject({ status: 'completed', path: 'u/f.csv', source: 'observed' });
    expect(done.finished_at).toBeInstanceOf(Date);
    // A client-written updated_at or status later does not move the finish.
    await stack.db.query(`update public.export_logs set status = 'expired', updated_at = '2001-01-01' where id = $1`, [row.id]);
    expect((await tracked(row.id)).finished_at!.getTime()).toBe(done.finished_at!.getTime());
    const { rows: [moved] } = await stack.db.query<{ id: string }>(`update public.export_logs set id = gen_random_uuid() where id = $1 returning id`, [row.id]);
    expect(await tracked(row.id)).toBeUndefined();
    expect((await tracked(moved.id))?.status).toBe('expired');
    await stack.db.query(`delete from public.export_logs where id = $1`, [moved.id]);
    expect(await tracked(moved.id)).toBeUndefined();
  });

  test('the backfill tracks rows written before the triggers, with the documented finish-time fallback, in resumable batches', async () => {
    const user = '00000000-0000-0000-0000-0000000000a1';
    // Rows as a project had them before export-ops: written with the triggers off.
    await stack.db.query(`alter table public.export_logs disable trigger export_ops_track_insert`);
    try {
      await stack.db.query(
        `insert into public.export_logs (export_id, user_id, "timestamp", format, config, conversation_count, status, downloaded_count, created_at, updated_at)
         select gen_random_uuid(), $1, now(), 'json', '{}', 1, s, d, '2026-10-01T10:00:00Z', '2026-10-01T10:05:00Z'
           from unnest(array['completed', 'failed', 'expired', 'completed', 'queued']) with ordinality as t(s, n),
                lateral (select case when n = 4 then 3 else 0 end as d) dl`,
        [user],
      );
    } finally {
      await stack.db.query(`alter table public.export_logs enable trigger export_ops_track_insert`);
    }
    await stack.db.query(`update export_ops.backfill set completed_at = null, after_id = null`);
    let steps = 0;
    for (let done = false; !done; steps += 1) {
      const { rows: [step] } = await stack.db.query<{ r: { done: boolean } }>(`select public.export_ops_backfill_step(2) as r`);
      done = step.r.done;
    }
    expect(steps).toBeGreaterThan(2);
    const { rows } = await stack.db.query<{ status: string; downloaded: number; finished: string | null; source: string | null }>(
      `select e.status, e.downloaded_count as downloaded, to_char(x.finished_at at time zone 'UTC', 'HH24:MI') as finished, x.finished_source as source
         from public.export_logs e join export_ops.exports x on x.id = e.id
        where e.created_at = '2026-10-01T10:00:00Z' order by e.status, e.downloaded_count`);
    expect(rows).toEqual([
      { status: 'completed', downloaded: 0, finished: '10:05', source: 'updated_at' },
      { status: 'completed', downloaded: 3, finished: '10:00', source: 'created_at' },
      { status: 'expired', downloaded: 0, finished: '10:00', source: 'created_at' },
      { status: 'failed', downloaded: 0, finished: '10:05', source: 'updated_at' },
      { status: 'queued', downloaded: 0, finished: null, source: null },
    ]);
    const { rows: [counts] } = await stack.db.query<{ app: number; tracked: number }>(
      `select (select count(*)::int from public.export_logs) as app, (select count(*)::int from export_ops.exports) as tracked`);
    expect(counts.tracked).toBe(counts.app);
  });

  test('ops tables have RLS on and grant nothing to anon or authenticated', async () => {
    const { rows } = await stack.db.query<{ relname: string; rls: boolean; anon: boolean; authed: boolean; service: boolean }>(`
      select c.relname, c.relrowsecurity as rls,
             has_table_privilege('anon', c.oid, 'select') as anon,
             has_table_privilege('authenticated', c.oid, 'select') as authed,
             has_table_privilege('service_role', c.oid, 'select') as service
        from pg_class c join pg_namespace n on n.oid = c.relnamespace
       where n.nspname = 'export_ops' and c.relkind = 'r'`);
    expect(rows.length).toBeGreaterThanOrEqual(4);
    for (const row of rows) expect(row).toEqual({ relname: row.relname, rls: true, anon: false, authed: false, service: true });
  });

  test('every export-ops function is executable by service_role only', async () => {
    const { rows } = await stack.db.query<{ fn: string; anon: boolean; authed: boolean; service: boolean }>(`
      select p.oid::regprocedure::text as fn,
             has_function_privilege('anon', p.oid, 'execute') as anon,
             has_function_privilege('authenticated', p.oid, 'execute') as authed,
             has_function_privilege('service_role', p.oid, 'execute') as service
        from pg_proc p join pg_namespace n on n.oid = p.pronamespace
       where (n.nspname = 'public' and p.proname like 'export\\_ops\\_%') or n.nspname = 'export_ops'`);
    expect(rows.length).toBeGreaterThan(3);
    for (const row of rows) expect(row).toEqual({ fn: row.fn, anon: false, authed: false, service: true });
  });
});
