-- Local bootstrap: what a Supabase project provides and a plain PostgreSQL lacks.
-- NOT part of the migration. Applied by the local stack before the migrations; every statement
-- is guarded, so it is a no-op on a database that already has Supabase's roles and schemas.

-- Roles belong to the server, not to one database, and the migration lock (an advisory lock)
-- is per database: two stacks starting at once on two databases of one server (parallel test
-- workers, two CI jobs) can both see a role missing. The loser's CREATE ROLE then fails with
-- unique_violation (or duplicate_object), which means the role is there: nothing to do.
do $$
declare
  wanted constant text[][] := array[['anon', 'nologin noinherit'], ['authenticated', 'nologin noinherit'],
                                    ['service_role', 'nologin noinherit bypassrls']];
  i integer;
begin
  for i in 1 .. array_length(wanted, 1) loop
    continue when exists (select 1 from pg_roles where rolname = wanted[i][1]);
    begin
      execute format('create role %I %s', wanted[i][1], wanted[i][2]);
    exception when unique_violation or duplicate_object then
      null;
    end;
  end loop;
end
$$;

-- auth: the users table export_logs references, and the claim helpers RLS policies call.
-- PostgREST (and our local front) puts the verified JWT claims in request.jwt.claims.
create schema if not exists auth;
grant usage on schema auth to anon, authenticated, service_role;

create table if not exists auth.users (
  id uuid primary key default gen_random_uuid(),
  email text,
  created_at timestamptz not null default now()
);

do $$
begin
  if to_regprocedure('auth.uid()') is null then
    create function auth.uid() returns uuid language sql stable as
      $f$ select nullif(current_setting('request.jwt.claims', true)::jsonb ->> 'sub', '')::uuid $f$;
  end if;
  if to_regprocedure('auth.role()') is null then
    create function auth.role() returns text language sql stable as
      $f$ select nullif(current_setting('request.jwt.claims', true)::jsonb ->> 'role', '') $f$;
  end if;
  if to_regprocedure('auth.jwt()') is null then
    create function auth.jwt() returns jsonb language sql stable as
      $f$ select coalesce(nullif(current_setting('request.jwt.claims', true), ''), '{}')::jsonb $f$;
  end if;
end
$$;

-- Supabase grants every new object in public to the API roles by default; imitate it so the
-- migration's revokes are tested against the same defaults a hosted project has.
grant usage on schema public to anon, authenticated, service_role;
alter default privileges in schema public grant all on tables to anon, authenticated, service_role;
alter default privileges in schema public grant all on functions to anon, authenticated, service_role;
alter default privileges in schema public grant all on sequences to anon, authenticated, service_role;

-- storage: the columns of Supabase Storage's own tables that the local storage server uses.
create schema if not exists storage;
grant usage on schema storage to anon, authenticated, service_role;

create table if not exists storage.buckets (
  id text primary key,
  name text not null unique,
  owner uuid,
  public boolean not null default false,
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now()
);

create table if not exists storage.objects (
  id uuid primary key default gen_random_uuid(),
  bucket_id text references storage.buckets (id),
  name text,
  owner uuid,
  created_at timestamptz default now(),
  updated_at timestamptz default now(),
  last_accessed_at timestamptz default now(),
  metadata jsonb,
  unique (bucket_id, name)
);

alter table storage.buckets enable row level security;
alter table storage.objects enable row level security;
grant all on storage.buckets, storage.objects to anon, authenticated, service_role;

-- The app's own table, as the app creates it (../shared contract §1), with its updated_at
-- trigger, its row level security and its policies: created only where it is missing (a fresh
-- local stack). On a real project the app's migrations made it; export-ops never creates,
-- alters or replaces anything of it.
do $$
begin
  if to_regclass('public.export_logs') is not null then
    return;
  end if;
  create table public.export_logs (
    id uuid primary key default gen_random_uuid(),
    export_id uuid not null unique,
    user_id uuid not null references auth.users (id) on delete cascade,
    "timestamp" timestamptz not null,
    format text not null check (format in ('json', 'jsonl', 'csv', 'markdown')),
    config jsonb not null,
    conversation_count integer not null check (conversation_count >= 0),
    file_size bigint check (file_size >= 0),
    status text not null default 'queued'
      check (status in ('queued', 'processing', 'completed', 'failed', 'expired')),
    file_url text,
    expires_at timestamptz,
    error_message text,
    created_at timestamptz not null default now(),
    updated_at timestamptz not null default now(),
    downloaded_count integer default 0
  );
  create index idx_export_logs_user_id on public.export_logs (user_id);
  create index idx_export_logs_timestamp on public.export_logs ("timestamp" desc);
  create index idx_export_logs_status on public.export_logs (status);
  create index idx_export_logs_format on public.export_logs (format);
  create index idx_export_logs_expires_at on public.export_logs (expires_at);
  create or replace function public.update_export_logs_updated_at() returns trigger
  language plpgsql as $f$
  begin
    new.updated_at := now();
    return new;
  end
  $f$;
  create trigger update_export_logs_updated_at before update on public.export_logs
    for each row execute function public.update_export_logs_updated_at();
  alter table public.export_logs enable row level security;
  create policy "Users can view own export logs" on public.export_logs
    for select using (user_id = auth.uid());
  create policy "Users can insert own export logs" on public.export_logs
    for insert with check (user_id = auth.uid());
  create policy "Users can update own export logs" on public.export_logs
    for update using (user_id = auth.uid());
end
$$;
