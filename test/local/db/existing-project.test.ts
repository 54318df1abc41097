import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createClient } from '@supabase/supabase-js';
import { openDatabase, type Database } from '../../../local/db/database';
import { applyMigrations } from '../../../local/db/migrate';
import { createScratchDatabase } from '../../../local/db/scratch';
import { signJwt } from '../../../local/http/jwt';
import { startSupabaseServer } from '../../../local/http/server';
import { databaseMode } from '../../support/stack';

/**
 * What a hosted project already has before export-ops arrives: Supabase's roles, its richer
 * auth and storage tables (more columns, a generated one), and the app's export_logs with its
 * own trigger, policies and rows.
 */
const EXISTING_PROJECT = `
  do $$ begin
    if not exists (select 1 from pg_roles where rolname = 'anon') then create role anon nologin noinherit; end if;
    if not exists (select 1 from pg_roles where rolname = 'authenticated') then create role authenticated nologin noinherit; end if;
    if not exists (select 1 from pg_roles where rolname = 'service_role') then create role service_role nologin noinherit bypassrls; end if;
  end $$;
  create schema auth;
  create table auth.users (id uuid primary key, email text, raw_user_meta_data jsonb, created_at timestamptz default now());
  create function auth.uid() returns uuid language sql stable as
    $f$ select nullif(current_setting('request.jwt.claim.sub', true), '')::uuid $f$;
  grant usage on schema auth to anon, authenticated, service_role;
  create schema storage;
  create table storage.buckets (id text primary key, name text not null unique, owner uuid, public boolean default false,
    file_size_limit bigint, allowed_mime_types text[], created_at timestamptz default now(), updated_at timestamptz default now());
  create table storage.objects (id uuid primary key default gen_random_uuid(), bucket_id text references storage.buckets (id),
    name text, owner uuid, owner_id text, created_at timestamptz default now(), updated_at timestamptz default now(),
    last_accessed_at timestamptz default now(), metadata jsonb, user_metadata jsonb, version text,
    path_tokens text[] generated always as (string_to_array(name, '/')) stored, unique (bucket_id, name));
  alter table storage.objects enable row level security;
  grant usage on schema storage to anon, authenticated, service_role;
  grant all on storage.buckets, storage.objects to anon, authenticated, service_role;
  insert into storage.buckets (id, name, file_size_limit) values ('exports', 'exports', 52428800);

  create table public.export_logs (
    id uuid primary key default gen_random_uuid(), export_id uuid not null unique,
    user_id uuid not null references auth.users (id) on delete cascade, "timestamp" timestamptz not null,
    format text not null, config jsonb not null, conversation_count integer not null, file_size bigint,
    status text not null default 'queued', file_url text, expires_at timestamptz, error_message text,
    created_at timestamptz not null default now(), updated_at timestamptz not null default now(), downloaded_count integer default 0);
  create function public.app_touch() returns trigger language plpgsql as $f$ begin new.updated_at := now(); return new; end $f$;
  create trigger app_touch_export_logs before update on public.export_logs for each row execute function public.app_touch();
  alter table public.export_logs enable row level security;
  create policy app_reads_own on public.export_logs for select using (user_id = auth.uid());
  insert into auth.users (id, email) values ('00000000-0000-0000-0000-0000000000e1', 'app@example.com');
  insert into public.export_logs (export_id, user_id, "timestamp", format, config, conversation_count, status, file_url, created_at, updated_at)
  values (gen_random_uuid(), '00000000-0000-0000-0000-0000000000e1', now(), 'csv', '{}', 2, 'completed',
          'https://ref.supabase.co/storage/v1/object/sign/exports/u/old%20one.csv?token=t', now() - interval '2 days', now() - interval '47 hours');
`;

describe(`migration on an existing Supabase project (${databaseMode})`, () => {
  let db: Database;
  let drop: () => Promise<void> = async () => undefined;
  beforeAll(async () => {
    if (process.env.DATABASE_URL) {
      const scratch = await createScratchDatabase(process.env.DATABASE_URL, 'export_ops_test');
      drop = scratch.drop;
      db = await openDatabase({ databaseUrl: scratch.url });
    } else {
      db = await openDatabase();
    }
    await db.exec(EXISTING_PROJECT);
    await applyMigrations(db);
    await applyMigrations(db);
  });
  afterAll(async () => {
    await db.close();
    await drop();
  });

  test("leaves the app's trigger, policies and auth.uid() as they were, adding only its own", async () => {
    const triggers = await db.query<{ tgname: string }>(`select tgname from pg_trigger where tgrelid = 'public.export_logs'::regclass and not tgisinternal order by 1`);
    expect(triggers.rows.map((r) => r.tgname)).toEqual([
      'app_touch_export_logs', 'export_ops_track_delete', 'export_ops_track_insert', 'export_ops_track_truncate', 'export_ops_track_update',
    ]);
    const policies = await db.query<{ policyname: string }>(`select policyname from pg_policies where tablename = 'export_logs'`);
    expect(policies.rows.map((r) => r.policyname)).toEqual(['app_reads_own']);
    const uid = await db.query<{ body: string }>(`select prosrc as body from pg_proc where oid = 'auth.uid()'::regprocedure`);
    expect(uid.rows[0].body).toContain('request.jwt.claim.sub');
  });

  test('tracks the rows the app wrote before once the backfill has run, and changes none of them', async () => {
    const appRows = async () => (await db.query<{ row: string }>(`select e::text as row from public.export_logs e`)).rows;
    const before = await appRows();
    expect(await db.query(`select 1 from export_ops.exports`)).toMatchObject({ rows: [] });
    const step = async () => (await db.query<{ r: { done: boolean; rows: number } }>(`select public.export_ops_backfill_step(100) as r`)).rows[0].r;
    expect(await step()).toMatchObject({ done: false, rows: 1 });
    expect(await step()).toMatchObject({ done: true, rows: 0 });
    const { rows } = await db.query<{ storage_bucket: string; storage_path: string; finished: boolean; finished_source: string }>(
      `select x.storage_bucket, x.storage_path, x.finished_at = e.updated_at as finished, x.finished_source
         from public.export_logs e join export_ops.exports x on x.id = e.id`);
    expect(rows).toEqual([{ storage_bucket: 'exports', storage_path: 'u/old one.csv', finished: true, finished_source: 'updated_at' }]);
    expect(await appRows()).toEqual(before);
  });

  test("the local Storage front works on Supabase's richer storage tables", async () => {
    const storageDir = await mkdtemp(join(tmpdir(), 'export-ops-existing-'));
    const jwtSecret = 'existing-project-secret-for-this-test';
    const server = await startSupabaseServer({ db, jwtSecret, storageDir });
    try {
      const supabase = createClient(server.url, signJwt({ role: 'service_role' }, jwtSecret), { auth: { persistSession: false } });
      expect((await supabase.storage.from('exports').upload('u/new.csv', Buffer.from('a,b'))).error).toBeNull();
      const tokens = await db.query<{ path_tokens: string[] }>(`select path_tokens from storage.objects where name = 'u/new.csv'`);
      expect(tokens.rows[0].path_tokens).toEqual(['u', 'new.csv']);
      expect((await supabase.storage.from('exports').remove(['u/new.csv'])).data).toHaveLength(1);
      expect((await supabase.rpc('export_ops_start_run', { p_job: 'file-cleanup' })).error).toBeNull();
    } finally {
      await server.close();
      await rm(storageDir, { recursive: true, force: true });
    }
  });
});
