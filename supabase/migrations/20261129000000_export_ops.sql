-- export-ops: the schema the operations jobs work in, and the tracking of the app's exports.
--
-- Lands on a live public.export_logs (years of rows, the app's own triggers and policies) and
-- changes nothing of the app's: no column, index, policy, grant, function or RLS setting of
-- the app is created, altered or replaced, and no app row is written. What export-ops needs to
-- know about each export lives in its own table, export_ops.exports, which the app's users
-- cannot read or write (the schema is granted to service_role only):
--
--   * a mirror of the columns the jobs filter on (user_id, created_at, status, expires_at), so
--     the jobs' indexes are on our table, built while it is empty, never on the app's;
--   * what is derived from file_url (origin, bucket, path, or the problem with it), computed
--     here and never taken from a client;
--   * finished_at, the time export-ops first saw the row in a final state.
--
-- Statement-level triggers (transition tables) keep it in step with every app write, in the
-- same transaction. Rows written before the triggers existed are added by a batched,
-- resumable backfill (export_ops_backfill_step), run by the jobs outside this transaction:
-- a migration file runs in one transaction (`supabase db push`), and a backfill inside it
-- would hold its locks for the whole table.
--
-- Locks: the only lock on public.export_logs that an app statement can wait for is taken by
-- the CREATE TRIGGERs at the end of this file (SHARE ROW EXCLUSIVE, which waits for in-flight
-- app writes and queues new ones behind it). They run under a short lock_timeout and are
-- retried, so an app statement waits at most one timeout for us, and the lock is held only
-- until this file commits. (Reading the table, and creating functions whose bodies name it,
-- take ACCESS SHARE and the like, which no app read or write waits for.) Measured under app
-- load: test/local/db/live-migration.test.ts, `npm run bench -- migration`.
--
-- Idempotent: every statement is guarded or "create or replace", so applying it twice changes
-- nothing (and the second time takes no lock on the app's table). PostgreSQL 15-18 and PGlite.

do $$
begin
  if to_regclass('public.export_logs') is null then
    raise exception 'export-ops: public.export_logs does not exist; apply the app''s own migrations first';
  end if;
end
$$;

create schema if not exists export_ops;
revoke all on schema export_ops from public, anon, authenticated;
grant usage on schema export_ops to service_role;

-- 1. Run records: one row per job run, the audit record.
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

-- 2. The exports export-ops tracks: one row per public.export_logs row.
create table if not exists export_ops.exports (
  id uuid primary key,
  -- Mirrored from the app's row by the triggers below; the jobs re-read the live row before
  -- acting, so this is an index of the app's table, not a second truth.
  user_id uuid not null,
  created_at timestamptz not null,
  status text not null,
  expires_at timestamptz,
  -- Derived from file_url (export_ops.parse_file_url): the URL's origin (scheme://host[:port],
  -- lower case; null for a relative URL), and for a Storage object URL its bucket and path,
  -- percent-decoded once. url_problem says why the URL cannot be used at all.
  storage_origin text,
  storage_bucket text,
  storage_path text,
  url_problem text,
  -- When the row first reached a final state (completed, failed, expired), and how that was
  -- known: 'observed' (the transaction that wrote it), 'updated_at' or 'created_at' (rows
  -- written before export-ops, see export_ops_backfill_step), 'restored' (kept from the archive).
  finished_at timestamptz,
  finished_source text check (finished_source in ('observed', 'updated_at', 'created_at', 'restored'))
);
-- Built while the table is empty (the backfill fills it later), so they lock nothing for long.
-- Only when missing: CREATE INDEX IF NOT EXISTS takes a SHARE lock on the table even when the
-- index exists, and once the triggers are in, every app write inserts here, so applying this
-- file again would hold up (and could deadlock with) the app's writes until it commits.
do $$
begin
  if to_regclass('export_ops.exports_object_idx') is not null then
    return;
  end if;
  create index if not exists exports_due_by_expiry_idx on export_ops.exports (expires_at, id)
    where status = 'completed' and expires_at is not null;
  create index if not exists exports_due_by_age_idx on export_ops.exports (created_at, id)
    where status = 'completed' and expires_at is null;
  create index if not exists exports_created_idx on export_ops.exports (created_at, id);
  create index if not exists exports_user_idx on export_ops.exports (user_id, created_at, id);
  create index if not exists exports_finished_idx on export_ops.exports (finished_at) where finished_at is not null;
  create index if not exists exports_object_idx on export_ops.exports (storage_bucket, storage_path) where storage_path is not null;
end
$$;

-- Progress of the backfill of rows the app wrote before the triggers existed.
create table if not exists export_ops.backfill (
  singleton boolean primary key default true check (singleton),
  -- When the triggers went in: every write since is tracked by them.
  installed_at timestamptz not null default now(),
  -- Keyset cursor over export_logs.id: the batch before the last ended at prev_after_id, the
  -- last at after_id.
  prev_after_id uuid,
  after_id uuid,
  rows_seen bigint not null default 0,
  completed_at timestamptz
);

-- 3. File cleanup: claims (a lease per row), attempts kept across runs, flags.
create table if not exists export_ops.file_claims (
  export_log_id uuid primary key references export_ops.exports (id) on delete cascade,
  run_id uuid references export_ops.runs (id) on delete set null,
  lease_until timestamptz,
  attempts integer not null default 0,
  last_error text,
  last_attempt_at timestamptz,
  skip_reason text
);
-- Only when missing, as above: the triggers delete from this table on app writes.
do $$
begin
  if to_regclass('export_ops.file_claims_lease_idx') is null then
    create index file_claims_lease_idx on export_ops.file_claims (lease_until);
  end if;
end
$$;

-- 4. Log cleanup: one row per archive part, recorded 'pending' before anything is uploaded;
-- rows are deleted only once the part is 'verified'.
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
  selector jsonb,
  -- Null while pending; set from the verified object.
  sha256 text,
  bytes bigint,
  etag text,
  manifest jsonb,
  state text not null default 'pending' check (state in ('pending', 'verified', 'deleted')),
  lease_until timestamptz,
  attempts integer not null default 0,
  created_at timestamptz not null default now(),
  deleted_at timestamptz
);
create index if not exists archive_parts_open_idx on export_ops.archive_parts (created_at) where state <> 'deleted';

-- 5. Metrics: each closed window is emitted once.
create table if not exists export_ops.metric_windows (
  window_start timestamptz primary key,
  window_end timestamptz not null,
  run_id uuid references export_ops.runs (id) on delete set null,
  claimed_at timestamptz not null default now(),
  emitted_at timestamptz,
  documents integer,
  summary jsonb
);

do $$
declare
  t text;
begin
  foreach t in array array['runs', 'exports', 'backfill', 'file_claims', 'archive_parts', 'metric_windows'] loop
    -- ALTER TABLE takes an ACCESS EXCLUSIVE lock even when RLS is on already: only when off.
    if not (select relrowsecurity from pg_class where oid = format('export_ops.%I', t)::regclass) then
      execute format('alter table export_ops.%I enable row level security', t);
    end if;
    execute format('revoke all on export_ops.%I from public, anon, authenticated', t);
    execute format('grant select, insert, update, delete on export_ops.%I to service_role', t);
  end loop;
end
$$;

-- 6. Reading file_url. Every function here runs on each app insert, so each is linear in the
-- URL's length, and the length is capped.

-- Longest file_url that is parsed. A Storage URL is the project URL, a bucket, a
-- '<user_id>/<file name>' path and perhaps a signed-URL token: well under 2 KiB. A longer one
-- is not parsed but flagged, and the app's insert still succeeds.
create or replace function export_ops.max_file_url_length() returns integer
language sql immutable parallel safe as $$ select 2048 $$;

-- Percent-decoding, once, in one regular-expression pass (linear). Null when the bytes are not
-- UTF-8 (or hold a NUL), so a bad URL never fails the app's own insert. Checked by a pattern
-- over the bytes rather than by catching convert_from's error: an exception block is a
-- subtransaction per row, which a bulk write of many rows must not pay.
create or replace function export_ops.percent_decode(encoded text) returns text
language sql immutable strict parallel safe set search_path = '' as $$
  select case when encode(d.b, 'hex') ~ ('^(?:0[1-9a-f]|[1-7][0-9a-f]'        -- ASCII but NUL
                                         '|(?:c[2-9a-f]|d[0-9a-f])[89ab][0-9a-f]' -- 2 bytes
                                         '|e0[ab][0-9a-f][89ab][0-9a-f]'          -- 3 bytes, no overlong
                                         '|e[1-9a-cef][89ab][0-9a-f][89ab][0-9a-f]'
                                         '|ed[89][0-9a-f][89ab][0-9a-f]'          -- no surrogates
                                         '|f0[9ab][0-9a-f][89ab][0-9a-f][89ab][0-9a-f]' -- 4 bytes
                                         '|f[1-3][89ab][0-9a-f][89ab][0-9a-f][89ab][0-9a-f]'
                                         '|f48[0-9a-f][89ab][0-9a-f][89ab][0-9a-f])*$')
              then convert_from(d.b, 'UTF8') end
    from (select coalesce(string_agg(case when t.m[1] is not null then decode(substr(t.m[1], 2), 'hex')
                                          else convert_to(t.m[2], 'UTF8') end, ''::bytea order by t.n), ''::bytea) as b
            from regexp_matches(encoded, '(%[0-9A-Fa-f]{2})|([^%]+|%)', 'g') with ordinality as t(m, n)) d
$$;

-- What a file_url points at. origin: the scheme://host[:port] of an absolute URL, lower case
-- (null for a relative one). bucket, path: of a Supabase Storage object URL (public, sign or
-- authenticated form), anchored right after the origin, so '/storage/v1/object/' further on
-- (in a path or a query string) is not taken; query and fragment dropped; percent-decoded
-- once. problem: 'url_too_long' (not parsed) or 'undecodable_path' (not UTF-8 once decoded).
create or replace function export_ops.parse_file_url(
  url text, out origin text, out bucket text, out path text, out problem text
) language plpgsql immutable parallel safe set search_path = '' as $$
declare
  parts text[];
begin
  if url is null or url = '' then
    return;
  end if;
  if length(url) > export_ops.max_file_url_length() then
    problem := 'url_too_long';
    return;
  end if;
  parts := regexp_match(url, '^(?:([A-Za-z][A-Za-z0-9+.-]*://[^/?#]*))?(/[^?#]*)?');
  origin := lower(parts[1]);
  parts := regexp_match(coalesce(parts[2], ''), '^/storage/v1/object/(?:public|sign|authenticated)/([^/]*)/?(.*)$');
  if parts is not null then
    bucket := export_ops.percent_decode(parts[1]);
    path := export_ops.percent_decode(parts[2]);
    if bucket is null or path is null then
      problem := 'undecodable_path';
    end if;
  end if;
end
$$;

-- 7. Keeping export_ops.exports in step with the app's table. One function for the four
-- statement-level triggers; SECURITY DEFINER because the app writes as `authenticated`, which
-- has no rights in export_ops.
create or replace function export_ops.track_exports() returns trigger
language plpgsql security definer set search_path = '' as $$
begin
  if tg_op = 'TRUNCATE' then
    delete from export_ops.exports;
    return null;
  end if;
  if tg_op = 'DELETE' then
    delete from export_ops.exports x where x.id in (select o.id from old_rows o);
    return null;
  end if;
  if tg_op = 'UPDATE' then
    -- Rows whose id changed: the old id is gone.
    delete from export_ops.exports x
     where x.id in (select o.id from old_rows o) and x.id not in (select n.id from new_rows n);
  end if;
  with derived as (
    select n.id, n.user_id, n.created_at, n.status, n.expires_at, u.origin, u.bucket, u.path, u.problem
      from new_rows n cross join lateral export_ops.parse_file_url(n.file_url) u),
  unflag as (
    -- A row whose file_url now points elsewhere gets a new judgement: the flag was for the old one.
    delete from export_ops.file_claims c
     using derived d, export_ops.exports x
     where c.export_log_id = d.id and x.id = d.id and c.skip_reason is not null
       and (x.storage_origin, x.storage_bucket, x.storage_path, x.url_problem)
           is distinct from (d.origin, d.bucket, d.path, d.problem))
  insert into export_ops.exports as x
    (id, user_id, created_at, status, expires_at, storage_origin, storage_bucket, storage_path, url_problem,
     finished_at, finished_source)
  select d.id, d.user_id, d.created_at, d.status, d.expires_at, d.origin, d.bucket, d.path, d.problem,
         case when d.status in ('completed', 'failed', 'expired') then now() end,
         case when d.status in ('completed', 'failed', 'expired') then 'observed' end
    from derived d
  on conflict (id) do update
     set user_id = excluded.user_id, created_at = excluded.created_at, status = excluded.status,
         expires_at = excluded.expires_at, storage_origin = excluded.storage_origin,
         storage_bucket = excluded.storage_bucket, storage_path = excluded.storage_path,
         url_problem = excluded.url_problem,
         -- Set once: a row's finish is the first time it was seen final, whatever it becomes.
         finished_at = coalesce(x.finished_at, excluded.finished_at),
         finished_source = coalesce(x.finished_source, excluded.finished_source);
  return null;
end
$$;
revoke all on function export_ops.track_exports() from public;

-- 8. The backfill of rows written before the triggers: one bounded batch per call, in id order
-- from a stored cursor, each call its own short transaction (an RPC), so it holds no lock for
-- long, can stop anywhere and resumes where it stopped. A row the triggers track already is
-- left as they wrote it (they saw a later state). An app delete racing a batch cannot see the
-- batch's uncommitted rows, so each call first drops the rows of the previous batch whose app
-- row is gone; the backfill completes on a call that finds no more rows, after that check.
--
-- Finish times of rows already final (unknown, since the app records none), in this order:
--   * completed or failed, never downloaded: updated_at, which the app's trigger set when the
--     row was last written, i.e. when it finished ('updated_at');
--   * otherwise (expired rows, whose updated_at is the expiry, and downloaded ones, whose
--     updated_at may be a download): created_at, the request time; exports take minutes, so
--     the hour is right but for the last minutes of an hour, and the row is left out of the
--     duration statistics ('created_at').
-- Each is bounded to [created_at, installed_at]: a time a user wrote can move a row within
-- its own past, never into an hour after the triggers went in.
create or replace function public.export_ops_backfill_step(p_limit integer default 2000)
returns jsonb
language plpgsql set search_path = '' as $$
declare
  st export_ops.backfill;
  seen integer;
  added integer;
  last_id uuid;
begin
  if p_limit is null or p_limit < 1 or p_limit > 100000 then
    raise exception 'p_limit must be between 1 and 100000 (got %)', p_limit using errcode = 'P0001';
  end if;
  -- One batch at a time: another run's batch in flight is not waited for.
  select * into st from export_ops.backfill for update skip locked;
  if not found then
    if exists (select 1 from export_ops.backfill where completed_at is not null) then
      return jsonb_build_object('done', true, 'rows', 0);
    end if;
    return jsonb_build_object('done', false, 'busy', true, 'rows', 0);
  end if;
  if st.completed_at is not null then
    return jsonb_build_object('done', true, 'rows', 0);
  end if;
  if st.after_id is not null then
    delete from export_ops.exports x
     where x.id > coalesce(st.prev_after_id, '00000000-0000-0000-0000-000000000000') and x.id <= st.after_id
       and not exists (select 1 from public.export_logs e where e.id = x.id);
  end if;
  with batch as (
    select e.* from public.export_logs e
     where st.after_id is null or e.id > st.after_id
     order by e.id limit p_limit),
  added_rows as (
    insert into export_ops.exports
      (id, user_id, created_at, status, expires_at, storage_origin, storage_bucket, storage_path, url_problem,
       finished_at, finished_source)
    select b.id, b.user_id, b.created_at, b.status, b.expires_at, u.origin, u.bucket, u.path, u.problem,
           case when b.status in ('completed', 'failed', 'expired') then
             least(greatest(case when b.status in ('completed', 'failed') and coalesce(b.downloaded_count, 0) = 0
                                 then b.updated_at else b.created_at end, b.created_at), st.installed_at) end,
           case when b.status in ('completed', 'failed') and coalesce(b.downloaded_count, 0) = 0 then 'updated_at'
                when b.status = 'expired' or b.status in ('completed', 'failed') then 'created_at' end
      from batch b cross join lateral export_ops.parse_file_url(b.file_url) u
    on conflict (id) do nothing
    returning 1)
  select (select count(*) from batch), (select count(*) from added_rows), (select b.id from batch b order by b.id desc limit 1)
    into seen, added, last_id;
  update export_ops.backfill
     set prev_after_id = case when seen > 0 then after_id else prev_after_id end,
         after_id = coalesce(last_id, after_id), rows_seen = rows_seen + seen,
         completed_at = case when seen = 0 then clock_timestamp() end;
  return jsonb_build_object('done', seen = 0, 'rows', seen, 'added', added);
end
$$;

-- 9. Run records, shared by every job. Starting a run also closes the job's runs that never
-- finished (their process crashed or timed out): no Lambda runs longer than 15 minutes, so an
-- hour-old 'running' run is dead.
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

-- A job's "now" comes from an event or a command line; the database's clock is the one it
-- must not run ahead of. Five minutes: Scheduler delivers at or after the scheduled time,
-- and hosts' clocks are NTP-synced to well under that.
create or replace function export_ops.check_job_now(p_now timestamptz) returns timestamptz
language plpgsql stable set search_path = '' as $$
begin
  if p_now is null or p_now > now() + interval '5 minutes' then
    raise exception 'the job''s time % is more than 5 minutes ahead of the database''s clock (%): refused', p_now, now()
      using errcode = 'P0001';
  end if;
  return p_now;
end
$$;

-- Every public.export_ops_* function and everything in export_ops is for service_role only.
-- Supabase's default privileges grant new functions in public to anon and authenticated, so
-- revoke explicitly. Each later migration calls this again after creating its functions.
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

-- 10. The triggers, last, so the lock they take is held for the shortest time.
insert into export_ops.backfill (singleton) values (true) on conflict do nothing;
do $$
declare
  -- An app statement queued behind our lock request waits at most this long per attempt.
  attempt_timeout constant text := '200ms';
  max_attempts constant integer := 100;
  attempt integer := 0;
  saved_timeout text := current_setting('lock_timeout');
begin
  if (select count(*) from pg_trigger
       where tgrelid = 'public.export_logs'::regclass and tgname like 'export\_ops\_track\_%') = 4 then
    return;
  end if;
  perform set_config('lock_timeout', attempt_timeout, true);
  perform set_config('client_min_messages', 'warning', true);
  loop
    begin
      drop trigger if exists export_ops_track_insert on public.export_logs;
      drop trigger if exists export_ops_track_update on public.export_logs;
      drop trigger if exists export_ops_track_delete on public.export_logs;
      drop trigger if exists export_ops_track_truncate on public.export_logs;
      create trigger export_ops_track_insert after insert on public.export_logs
        referencing new table as new_rows for each statement execute function export_ops.track_exports();
      create trigger export_ops_track_update after update on public.export_logs
        referencing old table as old_rows new table as new_rows for each statement execute function export_ops.track_exports();
      create trigger export_ops_track_delete after delete on public.export_logs
        referencing old table as old_rows for each statement execute function export_ops.track_exports();
      create trigger export_ops_track_truncate after truncate on public.export_logs
        for each statement execute function export_ops.track_exports();
      exit;
    exception when lock_not_available then
      attempt := attempt + 1;
      if attempt >= max_attempts then
        raise exception 'export-ops: public.export_logs stayed locked by other transactions for % tries of %; apply again',
          max_attempts, attempt_timeout;
      end if;
      perform pg_sleep(0.05 + random() * 0.1);
    end;
  end loop;
  perform set_config('lock_timeout', saved_timeout, true);
  -- The backfill counts from here: rows changed from now on are the triggers' to track. The
  -- clock, not now(): now() is when this file's transaction began, and rows the app wrote
  -- between then and the lock (the whole file, and every retry) are the backfill's; with now()
  -- their finished_at would be clamped to before their own created_at. An empty table (a new
  -- project) has nothing to backfill; the lock the triggers took keeps it empty until commit.
  update export_ops.backfill
     set installed_at = clock_timestamp(),
         completed_at = case when exists (select 1 from public.export_logs) then null else clock_timestamp() end
   where completed_at is null and after_id is null;
end
$$;
