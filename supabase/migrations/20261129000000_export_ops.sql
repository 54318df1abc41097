-- export-ops: the schema and SQL functions the operations jobs call.
--
-- Safe on a hosted Supabase project and idempotent: every statement is guarded or
-- "create or replace", so applying this file twice changes nothing. Runs on PostgreSQL 15-18.
-- It never alters the app's own columns of public.export_logs; it only adds columns, a trigger,
-- indexes and the export_ops schema. Everything new is callable/readable by service_role only.

-- 1. The app's table, exactly as the app creates it, for projects (and local stacks) that lack it.
create table if not exists public.export_logs (
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

create index if not exists idx_export_logs_user_id on public.export_logs (user_id);
create index if not exists idx_export_logs_timestamp on public.export_logs ("timestamp" desc);
create index if not exists idx_export_logs_status on public.export_logs (status);
create index if not exists idx_export_logs_format on public.export_logs (format);
create index if not exists idx_export_logs_expires_at on public.export_logs (expires_at);

create or replace function public.export_logs_set_updated_at() returns trigger
language plpgsql as $$
begin
  new.updated_at := now();
  return new;
end
$$;

alter table public.export_logs enable row level security;

do $$
begin
  -- The app's trigger and policies, created only with the table (an app that has the table
  -- already has its own under whatever names it chose).
  if not exists (select 1 from pg_trigger where tgrelid = 'public.export_logs'::regclass and not tgisinternal) then
    create trigger update_export_logs_updated_at before update on public.export_logs
      for each row execute function public.export_logs_set_updated_at();
  end if;
  if not exists (select 1 from pg_policies where schemaname = 'public' and tablename = 'export_logs') then
    create policy "Users can view own export logs" on public.export_logs
      for select using (user_id = auth.uid());
    create policy "Users can insert own export logs" on public.export_logs
      for insert with check (user_id = auth.uid());
    create policy "Users can update own export logs" on public.export_logs
      for update using (user_id = auth.uid());
  end if;
end
$$;

-- 2. The private schema: helpers, claims, run records, manifests, metric windows.
create schema if not exists export_ops;
revoke all on schema export_ops from public, anon, authenticated;
grant usage on schema export_ops to service_role;

-- One row per job run: the audit record.
create table if not exists export_ops.runs (
  id uuid primary key default gen_random_uuid(),
  job text not null check (job in ('file-cleanup', 'log-cleanup', 'metrics-aggregate')),
  scheduled_time timestamptz,
  dry_run boolean not null default false,
  started_at timestamptz not null default now(),
  finished_at timestamptz,
  status text not null default 'running' check (status in ('running', 'succeeded', 'partial', 'failed')),
  result jsonb,
  error text
);
create index if not exists runs_job_started_idx on export_ops.runs (job, started_at desc);

-- File cleanup: claims (a lease per row) and attempts (errors kept across runs).
create table if not exists export_ops.file_claims (
  export_log_id uuid primary key references public.export_logs (id) on delete cascade,
  run_id uuid references export_ops.runs (id) on delete set null,
  lease_until timestamptz,
  attempts integer not null default 0,
  last_error text,
  last_attempt_at timestamptz,
  skip_reason text
);
create index if not exists file_claims_lease_idx on export_ops.file_claims (lease_until);

-- Log cleanup: one row per archive part; rows are deleted only once its state is 'verified'.
create table if not exists export_ops.archive_parts (
  part_key text primary key,
  run_id uuid references export_ops.runs (id) on delete set null,
  object_key text not null,
  manifest_key text not null,
  row_count integer not null,
  first_created_at timestamptz not null,
  first_id uuid not null,
  last_created_at timestamptz not null,
  last_id uuid not null,
  sha256 text not null,
  bytes bigint not null,
  etag text not null,
  state text not null default 'verified' check (state in ('verified', 'deleted')),
  created_at timestamptz not null default now(),
  deleted_at timestamptz
);

-- Metrics: each closed window is emitted once.
create table if not exists export_ops.metric_windows (
  window_start timestamptz primary key,
  window_end timestamptz not null,
  run_id uuid references export_ops.runs (id) on delete set null,
  claimed_at timestamptz not null default now(),
  emitted_at timestamptz,
  summary jsonb
);

do $$
declare
  t text;
begin
  foreach t in array array['runs', 'file_claims', 'archive_parts', 'metric_windows'] loop
    execute format('alter table export_ops.%I enable row level security', t);
    execute format('revoke all on export_ops.%I from public, anon, authenticated', t);
    execute format('grant select, insert, update, delete on export_ops.%I to service_role', t);
  end loop;
end
$$;

-- Percent-decoding, once. Returns null for bytes that are not UTF-8, so a bad URL never
-- fails the app's own insert.
create or replace function export_ops.percent_decode(encoded text) returns text
language plpgsql immutable strict set search_path = '' as $$
declare
  decoded bytea := '';
  i integer := 1;
  n integer := length(encoded);
  ch text;
begin
  while i <= n loop
    ch := substr(encoded, i, 1);
    if ch = '%' and substr(encoded, i + 1, 2) ~ '^[0-9A-Fa-f]{2}$' then
      decoded := decoded || decode(substr(encoded, i + 1, 2), 'hex');
      i := i + 3;
    else
      decoded := decoded || convert_to(ch, 'UTF8');
      i := i + 1;
    end if;
  end loop;
  return convert_from(decoded, 'UTF8');
exception when others then
  return null;
end
$$;

-- Bucket and object path of a Supabase Storage URL (public, sign or authenticated form; the
-- query string dropped; percent-decoding applied once). Null for any other URL, such as the
-- app-relative '/api/export/download/<file>' that points at no stored object.
create or replace function export_ops.parse_storage_url(url text, out bucket text, out path text)
language plpgsql immutable set search_path = '' as $$
declare
  parts text[];
begin
  parts := regexp_match(url, '/storage/v1/object/(?:public|sign|authenticated)/([^/?#]*)/?([^?#]*)');
  if parts is not null then
    bucket := export_ops.percent_decode(parts[1]);
    path := export_ops.percent_decode(parts[2]);
  end if;
end
$$;

alter table public.export_logs add column if not exists storage_bucket text;
alter table public.export_logs add column if not exists storage_path text;
alter table public.export_logs add column if not exists finished_at timestamptz;

comment on column public.export_logs.storage_path is
  'export-ops: object path inside storage_bucket, derived from file_url by a trigger (null: no stored object).';
comment on column public.export_logs.finished_at is
  'export-ops: when the export reached completed or failed; unlike updated_at it does not move when the row later expires.';

-- Keeps the derived columns right for rows the unchanged app writes. SECURITY DEFINER because
-- the app writes as `authenticated`, which has no rights in export_ops.
create or replace function export_ops.derive_export_columns() returns trigger
language plpgsql security definer set search_path = '' as $$
declare
  parsed record;
begin
  if tg_op = 'INSERT' or new.file_url is distinct from old.file_url then
    if new.storage_path is null or (tg_op = 'UPDATE' and new.storage_path is not distinct from old.storage_path) then
      parsed := export_ops.parse_storage_url(new.file_url);
      new.storage_bucket := parsed.bucket;
      new.storage_path := parsed.path;
    end if;
  end if;
  if tg_op = 'UPDATE' and (new.storage_bucket, new.storage_path) is distinct from (old.storage_bucket, old.storage_path) then
    -- A new path gets a new judgement: the file cleanup flagged the old one, not this one.
    delete from export_ops.file_claims where export_log_id = new.id and skip_reason is not null;
  end if;
  if new.finished_at is null and new.status in ('completed', 'failed') then
    -- On insert the row's own updated_at is its finish time; on update the app's
    -- updated_at trigger may run after this one, so take the statement's clock.
    new.finished_at := case when tg_op = 'INSERT' then coalesce(new.updated_at, now()) else now() end;
  end if;
  return new;
end
$$;
revoke all on function export_ops.derive_export_columns() from public;

drop trigger if exists export_ops_derive_columns on public.export_logs;
create trigger export_ops_derive_columns before insert or update on public.export_logs
  for each row execute function export_ops.derive_export_columns();

-- Backfill rows written before this migration. Guarded so a second run updates nothing.
update public.export_logs
   set (storage_bucket, storage_path) = (select p.bucket, p.path from export_ops.parse_storage_url(file_url) p)
 where storage_bucket is null and storage_path is null
   and file_url ~ '/storage/v1/object/(public|sign|authenticated)/';
update public.export_logs
   set finished_at = updated_at
 where finished_at is null and status in ('completed', 'failed');

-- Indexes for each job's query (partial, so they stay small).
create index if not exists export_logs_file_cleanup_expiry_idx on public.export_logs (expires_at)
  where status = 'completed' and expires_at is not null;
create index if not exists export_logs_file_cleanup_age_idx on public.export_logs (created_at)
  where status = 'completed' and expires_at is null;
create index if not exists export_logs_log_cleanup_idx on public.export_logs (created_at, id);
create index if not exists export_logs_finished_at_idx on public.export_logs (finished_at)
  where finished_at is not null;
create index if not exists export_logs_storage_path_idx on public.export_logs (storage_bucket, storage_path)
  where storage_path is not null;

-- 3. Run records, shared by every job.
-- Starting a run also closes the job's runs that never finished (their process crashed or
-- timed out): no Lambda runs longer than 15 minutes, so an hour-old 'running' run is dead.
create or replace function public.export_ops_start_run(
  p_job text, p_scheduled_time timestamptz default null, p_dry_run boolean default false
) returns uuid
language sql set search_path = '' as $$
  update export_ops.runs
     set status = 'failed', finished_at = now(), error = 'abandoned: the run never recorded its end (crash or timeout)'
   where job = p_job and status = 'running' and started_at < now() - interval '1 hour';
  insert into export_ops.runs (job, scheduled_time, dry_run) values (p_job, p_scheduled_time, p_dry_run) returning id;
$$;

create or replace function public.export_ops_finish_run(
  p_run_id uuid, p_status text, p_result jsonb default null, p_error text default null
) returns void
language sql set search_path = '' as $$
  update export_ops.runs set finished_at = now(), status = p_status, result = p_result, error = p_error where id = p_run_id;
$$;

-- Every public.export_ops_* function is for service_role only. Supabase's default privileges
-- grant new functions in public to anon and authenticated, so revoke explicitly. Each later
-- migration calls this again after creating its functions.
create or replace function export_ops.restrict_functions_to_service_role() returns void
language plpgsql set search_path = '' as $$
declare
  fn regprocedure;
begin
  for fn in
    select p.oid::regprocedure from pg_proc p join pg_namespace n on n.oid = p.pronamespace
     where (n.nspname = 'public' and p.proname like 'export\_ops\_%') or n.nspname = 'export_ops'
  loop
    execute format('revoke all on function %s from public, anon, authenticated', fn);
    execute format('grant execute on function %s to service_role', fn);
  end loop;
end
$$;
select export_ops.restrict_functions_to_service_role();
