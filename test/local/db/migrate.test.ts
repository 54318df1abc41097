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

  test('keeps the app columns and adds storage_bucket, storage_path and finished_at', async () => {
    const { rows } = await stack.db.query<{ column_name: string }>(
      `select column_name from information_schema.columns where table_schema = 'public' and table_name = 'export_logs'`,
    );
    expect(rows.map((r) => r.column_name).sort()).toEqual([
      'config', 'conversation_count', 'created_at', 'downloaded_count', 'error_message', 'expires_at', 'export_id',
      'file_size', 'file_url', 'finished_at', 'format', 'id', 'status', 'storage_bucket', 'storage_path', 'timestamp',
      'updated_at', 'user_id',
    ]);
  });

  test.each([
    ['https://p.supabase.co/storage/v1/object/public/exports/u1/a.json', 'exports', 'u1/a.json'],
    ['https://p.supabase.co/storage/v1/object/sign/exports/u1/a%20b.json?token=x.y', 'exports', 'u1/a b.json'],
    ['https://p.supabase.co/storage/v1/object/authenticated/exports/u1/%2541.csv', 'exports', 'u1/%41.csv'],
    ['https://p.supabase.co/storage/v1/object/public/avatars/u1/a.png', 'avatars', 'u1/a.png'],
    ['https://p.supabase.co/storage/v1/object/public/exports/', 'exports', ''],
    ['/api/export/download/training-data-all-2026-11-01-3.json', null, null],
    ['https://p.supabase.co/storage/v1/object/public/exports/u1/%FF.json', 'exports', null],
  ])('derives the stored object from %s', async (url, bucket, path) => {
    const { rows } = await stack.db.query<{ bucket: string | null; path: string | null }>(
      `select bucket, path from export_ops.parse_storage_url($1)`,
      [url],
    );
    expect(rows[0]).toEqual({ bucket, path });
  });

  test('the trigger fills the derived columns for rows the app writes, and keeps finished_at when a row expires', async () => {
    await stack.db.query(`insert into auth.users (id) values ('00000000-0000-0000-0000-0000000000a1') on conflict do nothing`);
    const { rows: [row] } = await stack.db.query<{ id: string }>(
      `insert into public.export_logs (export_id, user_id, "timestamp", format, config, conversation_count, status)
       values (gen_random_uuid(), '00000000-0000-0000-0000-0000000000a1', now(), 'csv', '{}', 4, 'processing') returning id`,
    );
    await stack.db.query(
      `update public.export_logs set status = 'completed', file_url = 'https://x.supabase.co/storage/v1/object/public/exports/u/f.csv' where id = $1`,
      [row.id],
    );
    const done = await stack.db.query<{ storage_path: string; finished_at: Date }>(`select storage_path, finished_at from public.export_logs where id = $1`, [row.id]);
    expect(done.rows[0].storage_path).toBe('u/f.csv');
    expect(done.rows[0].finished_at).toBeInstanceOf(Date);
    await stack.db.query(`update public.export_logs set status = 'expired' where id = $1`, [row.id]);
    const expired = await stack.db.query<{ finished_at: Date }>(`select finished_at from public.export_logs where id = $1`, [row.id]);
    expect(expired.rows[0].finished_at.getTime()).toBe(done.rows[0].finished_at.getTime());
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
