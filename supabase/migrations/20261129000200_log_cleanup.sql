-- export-ops log cleanup: archive old export logs to S3 in verified parts, then delete them.
--
-- Idempotent (create or replace / if not exists / guarded constraint change); PostgreSQL 15-18
-- and PGlite. Every function here is for service_role only (see the last statement).
--
-- A part is a fixed key range [first, last] of (created_at, id), planned in one transaction and
-- recorded as 'pending' before anything is uploaded. Its rows are the rows of the range that
-- match the part's selector. The job writes them to a deterministic object key, verifies the
-- object, records the manifest ('verified'), and only then deletes: the delete locks the rows,
-- checks their count and row checksum against the manifest's, so the rows deleted are the
-- rows archived, as archived.

-- 2. Which rows. Plain SQL functions without SET clauses or STRICT, so the planner inlines
-- them into each caller's query (and the keyset bounds become index conditions). The callers
-- force custom plans: a generic plan cannot see the bounds and picks a bitmap scan of the whole
-- month plus a sort, ten times slower than the ordered index scan a part needs.

-- The rows of a selector inside the key range [lo, hi] of (created_at, id). Selectors:
-- The keys come from export_ops.exports (the jobs' own indexes); callers that read or delete
-- app rows join the live row by id. {"kind":"age","cutoff":ts}: older than the cutoff and final (failed, expired, or completed
-- with no stored object; a completed export whose object is still in Storage is left for the
-- file cleanup). {"kind":"user","user_id":uuid}: that user's rows of any age, except queued
-- and processing ones.
create or replace function export_ops.log_part_rows(sel jsonb, lo_at timestamptz, lo_id uuid, hi_at timestamptz, hi_id uuid)
returns setof export_ops.exports
language sql stable as $$
  select x.* from export_ops.exports x
   where (x.created_at, x.id) >= (lo_at, lo_id) and (x.created_at, x.id) <= (hi_at, hi_id)
     and x.created_at < coalesce((sel ->> 'cutoff')::timestamptz, 'infinity')
     and case sel ->> 'kind'
           when 'user' then x.user_id = (sel ->> 'user_id')::uuid and x.status not in ('queued', 'processing')
           when 'age' then x.status in ('failed', 'expired')
             or (x.status = 'completed'
                 and not (x.storage_path is not null
                          and exists (select 1 from storage.objects o
                                       where o.bucket_id = x.storage_bucket and o.name = x.storage_path)))
           else false end
$$;

-- A row's archived form: the app's row exactly as PostgreSQL writes it as JSON (every column,
-- timestamps ISO 8601 with their zone, +00:00 as the callers run with TimeZone UTC; bigint as
-- a JSON number with Postgres's own digits), plus the finish time the metrics counted it at,
-- so a restore puts it back in the same hour.
create or replace function export_ops.archive_line(e public.export_logs, finished_at timestamptz) returns text
language sql stable as $$
  select left(row_to_json(e)::text, -1) || ',"finished_at":' || coalesce(to_json(finished_at)::text, 'null') || '}'
$$;

create or replace function export_ops.min_uuid() returns uuid
language sql immutable as $$ select '00000000-0000-0000-0000-000000000000'::uuid $$;
create or replace function export_ops.max_uuid() returns uuid
language sql immutable as $$ select 'ffffffff-ffff-ffff-ffff-ffffffffffff'::uuid $$;

create or replace function export_ops.log_selector(p_cutoff timestamptz, p_user_id uuid) returns jsonb
language sql immutable as $$
  select case when p_user_id is not null then jsonb_build_object('kind', 'user', 'user_id', p_user_id)
              else jsonb_build_object('kind', 'age', 'cutoff', p_cutoff) end
$$;

-- 3. Claiming a part: resume an abandoned one, or plan the next.
create or replace function public.export_ops_log_cleanup_claim_part(
  p_run_id uuid, p_cutoff timestamptz, p_user_id uuid, p_prefix text, p_part_rows integer, p_lease_seconds integer,
  p_after_created_at timestamptz default null, p_after_id uuid default null
) returns json
language plpgsql set search_path = '' set timezone = 'UTC' set plan_cache_mode = 'force_custom_plan' as $$
declare
  part export_ops.archive_parts;
  sel jsonb := export_ops.log_selector(p_cutoff, p_user_id);
  first_at timestamptz;
  first_key uuid;
  last_at timestamptz;
  last_id uuid;
  n integer;
  base_key text;
  key text;
  dir text;
begin
  if p_part_rows is null or p_part_rows < 1 then
    raise exception 'p_part_rows must be a positive number (got %)', p_part_rows;
  end if;
  if p_cutoff is not null then
    perform export_ops.check_job_now(p_cutoff);
  end if;
  -- One planner at a time, so two runs never plan overlapping parts.
  perform pg_advisory_xact_lock(7248830022);

  -- Another run is working on a part: it owns that part's rows until its lease runs out.
  select * into part from export_ops.archive_parts
   where state <> 'deleted' and lease_until > now() and run_id is distinct from p_run_id
   order by created_at limit 1;
  if found then
    return json_build_object('busy', true, 'part_key', part.part_key, 'lease_until', part.lease_until);
  end if;

  -- A part left by a crashed or failed run (its lease run out or released) is finished first.
  -- This run's own parts in flight (lease live) are neither busy nor resumable.
  update export_ops.archive_parts p
     set run_id = p_run_id, lease_until = now() + make_interval(secs => p_lease_seconds), attempts = p.attempts + 1
   where p.part_key = (select part_key from export_ops.archive_parts
                        where state <> 'deleted' and (lease_until is null or lease_until <= now())
                        order by created_at limit 1)
  returning * into part;
  if found then
    return json_build_object('part', to_json(part), 'resumed', true);
  end if;

  -- A run plans from just after its previous part (p_after): the index entries of rows it has
  -- just deleted are dead until vacuum, and scanning them again for every part would make a
  -- run quadratic. Rows that come to match behind the cursor wait for the next run.
  -- The plan never overlaps a part not yet deleted (a resumed one whose delete is in flight, or
  -- another selector's): it starts outside their ranges and stops before the next one. And it
  -- is one statement, so one snapshot: the first row, the count and the last key are read
  -- together, and a delete committing meanwhile cannot leave a part of no rows.
  with open_parts as materialized (
    select o.first_created_at, o.first_id, o.last_created_at, o.last_id
      from export_ops.archive_parts o where o.state <> 'deleted'),
  start_row as (
    select e.created_at, e.id
      from export_ops.log_part_rows(sel, coalesce(p_after_created_at, '-infinity'), coalesce(p_after_id, export_ops.min_uuid()),
                                    'infinity', export_ops.max_uuid()) e
     where (p_after_created_at is null or (e.created_at, e.id) > (p_after_created_at, p_after_id))
       and not exists (select 1 from open_parts o
                        where (e.created_at, e.id) >= (o.first_created_at, o.first_id)
                          and (e.created_at, e.id) <= (o.last_created_at, o.last_id))
     order by e.created_at, e.id limit 1),
  next_open as (
    select o.first_created_at, o.first_id from open_parts o, start_row f
     where (o.first_created_at, o.first_id) > (f.created_at, f.id)
     order by o.first_created_at, o.first_id limit 1),
  part_rows as (
    -- Parts never cross a month, so each object sits in its own year=/month= partition.
    select s.created_at, s.id from start_row f
     cross join lateral (
       select e.created_at, e.id
         from export_ops.log_part_rows(sel, f.created_at, f.id,
                                       date_trunc('month', f.created_at, 'UTC') + interval '1 month' - interval '1 microsecond',
                                       export_ops.max_uuid()) e
        where not exists (select 1 from next_open n where (e.created_at, e.id) >= (n.first_created_at, n.first_id))
        order by e.created_at, e.id limit p_part_rows) s)
  -- One scan gives the count and the last key (a second scan of the part costs more than
  -- sorting its keys in memory).
  select f.created_at, f.id, (select count(*)::int from part_rows),
         (select (array_agg(r.created_at order by r.created_at desc, r.id desc))[1] from part_rows r),
         (select (array_agg(r.id order by r.created_at desc, r.id desc))[1] from part_rows r)
    into first_at, first_key, n, last_at, last_id
    from start_row f;
  if first_at is null or n = 0 then
    return json_build_object('part', null);
  end if;

  -- Deterministic key from the first row; a suffix only if a deleted part (of rows since
  -- restored) already used it, so an archived object is never overwritten with other rows.
  base_key := to_char(first_at, 'YYYYMMDD"T"HH24MISS.US"Z"') || '-' || first_key;
  select base_key || coalesce('-' || nullif(count(*), 0)::text, '') into key
    from export_ops.archive_parts where part_key = base_key or part_key like base_key || '-%';
  dir := concat_ws('/', nullif(p_prefix, ''), 'export_logs',
                   'year=' || to_char(first_at, 'YYYY'), 'month=' || to_char(first_at, 'MM'));
  insert into export_ops.archive_parts
    (part_key, run_id, object_key, manifest_key, row_count, first_created_at, first_id, last_created_at, last_id,
     state, selector, lease_until, attempts)
  values (key, p_run_id, dir || '/' || key || '.ndjson.gz', dir || '/' || key || '.manifest.json', n,
          first_at, first_key, last_at, last_id,
          'pending', sel, now() + make_interval(secs => p_lease_seconds), 1)
  returning * into part;
  return json_build_object('part', to_json(part), 'resumed', false);
end
$$;

-- The part, checked to be owned by this run and not finished; renews the lease.
create or replace function export_ops.log_own_part(p_run_id uuid, p_part_key text, p_lease_seconds integer)
returns export_ops.archive_parts
language plpgsql set search_path = '' as $$
declare
  part export_ops.archive_parts;
begin
  update export_ops.archive_parts
     set lease_until = now() + make_interval(secs => p_lease_seconds)
   where part_key = p_part_key and run_id = p_run_id and state <> 'deleted'
  returning * into part;
  if not found then
    raise exception 'archive part % is not held by run % (finished, or taken over after its lease ran out)', p_part_key, p_run_id;
  end if;
  return part;
end
$$;

-- 4. Writing a part: its rows as NDJSON, one bounded page per call (one json value, so the
-- API's row cap never cuts it). p_after null starts the part over, making it pending again.
-- Rows are written in their archived form (export_ops.archive_line); the job passes the text
-- through and never parses it.
create or replace function public.export_ops_log_cleanup_page(
  p_run_id uuid, p_part_key text, p_after_created_at timestamptz, p_after_id uuid, p_limit integer, p_lease_seconds integer
) returns json
language plpgsql set search_path = '' set timezone = 'UTC' set plan_cache_mode = 'force_custom_plan' set work_mem = '64MB' as $$
declare
  part export_ops.archive_parts := export_ops.log_own_part(p_run_id, p_part_key, p_lease_seconds);
  result json;
begin
  if p_after_created_at is null then
    update export_ops.archive_parts set state = 'pending' where part_key = p_part_key and state = 'verified';
  end if;
  select json_build_object(
           'rows', count(*),
           'ndjson', coalesce(string_agg(r.line, E'\n' order by r.created_at, r.id) || E'\n', ''),
           'checksum', coalesce(sum(hashtextextended(r.line, 0)), 0)::text,
           'last_created_at', (array_agg(r.created_at order by r.created_at desc, r.id desc))[1],
           'last_id', (array_agg(r.id order by r.created_at desc, r.id desc))[1])
    into result
    from (select x.created_at, x.id, export_ops.archive_line(e, x.finished_at) as line
            from export_ops.log_part_rows(part.selector,
                   coalesce(p_after_created_at, part.first_created_at), coalesce(p_after_id, part.first_id),
                   part.last_created_at, part.last_id) x
            join public.export_logs e on e.id = x.id
           where p_after_created_at is null or (x.created_at, x.id) > (p_after_created_at, p_after_id)
           order by x.created_at, x.id limit p_limit) r;
  return result;
end
$$;

-- The object is written and verified (size and ETag read back): record its manifest.
create or replace function public.export_ops_log_cleanup_record_part(
  p_run_id uuid, p_part_key text, p_manifest jsonb, p_lease_seconds integer
) returns void
language plpgsql set search_path = '' as $$
begin
  perform export_ops.log_own_part(p_run_id, p_part_key, p_lease_seconds);
  update export_ops.archive_parts
     set state = 'verified', manifest = p_manifest,
         row_count = (p_manifest ->> 'row_count')::int, sha256 = p_manifest ->> 'sha256',
         bytes = (p_manifest ->> 'bytes')::bigint, etag = p_manifest ->> 'etag'
   where part_key = p_part_key;
end
$$;

-- Deletes a verified part's rows in one transaction, and keeps the delete only if the rows it
-- removed are exactly the archived ones: the same count, and the same row checksum (the sum
-- of a 64-bit hash of each row's archived JSON text, taken by the page function from the very
-- text that was uploaded; a sum, so no sort of the part is needed here). A row changed or
-- added in the range since the upload undoes the delete (the inner block's exception rolls it
-- back) and makes the part pending again, to be written anew.
create or replace function public.export_ops_log_cleanup_delete_part(p_run_id uuid, p_part_key text)
returns json
language plpgsql set search_path = '' set timezone = 'UTC' set plan_cache_mode = 'force_custom_plan' as $$
declare
  part export_ops.archive_parts;
  n integer;
  checksum numeric;
begin
  select * into part from export_ops.archive_parts where part_key = p_part_key for update;
  if not found or part.run_id is distinct from p_run_id then
    raise exception 'archive part % is not held by run %', p_part_key, p_run_id;
  end if;
  if part.state = 'deleted' then
    return json_build_object('status', 'already_deleted', 'deleted', 0);
  end if;
  if part.state <> 'verified' then
    raise exception 'archive part % is %, not verified: its rows cannot be deleted', p_part_key, part.state;
  end if;
  begin
    -- The ids are collected first and deleted through the primary key: a join of the range
    -- with the table would make the planner scan the whole table for every part.
    with gone as (
      delete from public.export_logs e
       using export_ops.exports x
       where x.id = e.id
         and e.id = any (array(select s.id from export_ops.log_part_rows(part.selector, part.first_created_at, part.first_id,
                                                                          part.last_created_at, part.last_id) s))
      returning hashtextextended(export_ops.archive_line(e, x.finished_at), 0) as h)
    select count(*)::int, coalesce(sum(h), 0) into n, checksum from gone;
    if n <> part.row_count or checksum::text <> (part.manifest ->> 'row_checksum') then
      raise exception using errcode = 'EOPS1', message = format('archive part %s: %s rows now, %s archived', p_part_key, n, part.row_count);
    end if;
  exception when sqlstate 'EOPS1' then
    update export_ops.archive_parts set state = 'pending' where part_key = p_part_key;
    return json_build_object('status', 'stale', 'deleted', 0, 'rows_now', n, 'rows_archived', part.row_count);
  end;
  update export_ops.archive_parts set state = 'deleted', deleted_at = now(), lease_until = null where part_key = p_part_key;
  return json_build_object('status', 'deleted', 'deleted', n);
end
$$;

-- Gives a part back at once (after a failure), so a rerun need not wait for the lease.
create or replace function public.export_ops_log_cleanup_release_part(p_run_id uuid, p_part_key text) returns void
language sql set search_path = '' as $$
  update export_ops.archive_parts set lease_until = now()
   where part_key = p_part_key and run_id = p_run_id and state <> 'deleted';
$$;

-- Forgets a part whose range no longer holds any of its rows (its objects, if uploaded, stay
-- in S3 unreferenced: restore reads recorded parts only). Refuses if rows are there again.
create or replace function public.export_ops_log_cleanup_drop_part(p_run_id uuid, p_part_key text) returns void
language plpgsql set search_path = '' as $$
declare
  part export_ops.archive_parts := export_ops.log_own_part(p_run_id, p_part_key, 0);
begin
  if exists (select 1 from export_ops.log_part_rows(part.selector, part.first_created_at, part.first_id,
                                                    part.last_created_at, part.last_id)) then
    raise exception 'archive part % has rows again; it will be written on the next run', p_part_key;
  end if;
  delete from export_ops.archive_parts where part_key = p_part_key;
end
$$;

select export_ops.restrict_functions_to_service_role();
