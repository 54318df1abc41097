-- export-ops log cleanup: a part's pages read two at a time. Idempotent ("create or replace");
-- PostgreSQL 15-18 and PGlite. Replaces the page of 20261130000300_log_cleanup_cheaper_page_and_delete.sql
-- (its arguments and answer are unchanged) and adds export_ops_log_cleanup_page_ends.
--
-- Why: a part's pages were a chain, each asked for with the previous page's last key, so the
-- database computed no page while the last one travelled to the job and was parsed there: at
-- 1M rows, 122 ms a page against the page function's 50-65 ms. The job now reads where each
-- page of the part should end first (one scan of the part's keys, no row built), and asks for
-- the next page while this one is on its way. That plan is a hint, never trusted: a page asked
-- for ahead is used only when it starts right after the row the page before it really ended on
-- (rows the app adds to or deletes from the range meanwhile move the ends), else it is asked for
-- again from there. So the archive is still exactly the chain of pages it was.
--
-- Two pages in flight must not wait for each other: each page call renewed the part's lease, an
-- UPDATE of the part's row, and the second call waited on that row's lock until the first call
-- had built its page. A page now renews the lease only once less than half of it is left.
-- Nothing else relied on that lock: pages read, and the calls that write (the manifest, the
-- delete, the drop) still take the part with export_ops.log_own_part.

-- The part, if this run holds it; its lease renewed only when less than half of it is left.
-- The check without a lock is enough for a read: another run takes a part over only once its
-- lease has run out, and this run's next write (log_own_part) fails if that happened.
create or replace function export_ops.log_part_held(p_run_id uuid, p_part_key text, p_lease_seconds integer)
returns export_ops.archive_parts
language plpgsql set search_path = '' as $$
declare
  part export_ops.archive_parts;
begin
  select * into part from export_ops.archive_parts
   where part_key = p_part_key and run_id = p_run_id and state <> 'deleted';
  if not found or part.lease_until is null
     or part.lease_until < now() + make_interval(secs => p_lease_seconds) / 2 then
    -- Renews under the row's lock, or raises that the part is not this run's.
    part := export_ops.log_own_part(p_run_id, p_part_key, p_lease_seconds);
  end if;
  return part;
end
$$;

-- At most this many page ends are planned (5,000 pages): the job's parts have 20, and a part
-- whose range the app has filled far beyond its planned rows is read as a plain chain past them.
create or replace function export_ops.max_page_ends() returns integer
language sql immutable as $$ select 5000 $$;

-- Where each full page of the part ends: the key of every p_page_rows-th row of its range, in
-- order, as [{"created_at", "id"}], the same text the page's last_created_at and last_id are.
create or replace function public.export_ops_log_cleanup_page_ends(
  p_run_id uuid, p_part_key text, p_page_rows integer, p_lease_seconds integer
) returns json
language plpgsql set search_path = '' set timezone = 'UTC' set plan_cache_mode = 'force_custom_plan'
  set enable_bitmapscan = off as $$
declare
  part export_ops.archive_parts := export_ops.log_part_held(p_run_id, p_part_key, p_lease_seconds);
  result json;
begin
  if p_page_rows is null or p_page_rows < 1 then
    raise exception 'p_page_rows must be a positive number (got %)', p_page_rows;
  end if;
  -- The page's rows, keys only, from export_ops.exports alone: the page also joins each row to
  -- the app's table, but the triggers keep the two in step in the app's own transaction, and a
  -- primary-key probe per row into the app's table made this call 160 ms a part instead of 22.
  select coalesce(json_agg(json_build_object('created_at', k.created_at, 'id', k.id) order by k.n), '[]')
    into result
    from (select x.created_at, x.id, row_number() over (order by x.created_at, x.id) as n
            from (select x.created_at, x.id
                    from export_ops.log_part_rows(part.selector, part.first_created_at, part.first_id,
                                                  part.last_created_at, part.last_id) x
                   order by x.created_at, x.id
                   limit p_page_rows::bigint * export_ops.max_page_ends()) x) k
   where k.n % p_page_rows = 0;
  return result;
end
$$;

-- 4. (replaced) Writing a part: as in 20261130000300, but the part held by log_part_held.
create or replace function public.export_ops_log_cleanup_page(
  p_run_id uuid, p_part_key text, p_after_created_at timestamptz, p_after_id uuid, p_limit integer, p_lease_seconds integer
) returns json
language plpgsql set search_path = '' set timezone = 'UTC' set plan_cache_mode = 'force_custom_plan' set work_mem = '64MB' as $$
declare
  part export_ops.archive_parts := export_ops.log_part_held(p_run_id, p_part_key, p_lease_seconds);
  result json;
begin
  if p_after_created_at is null then
    update export_ops.archive_parts set state = 'pending' where part_key = p_part_key and state = 'verified';
  end if;
  with r as materialized (
    select x.created_at, x.id, (select row_to_json(a) from (select e.*, x.finished_at) a)::text as line,
           export_ops.row_version_hash(e.id, e.xmin, x.finished_at) as version_hash
      from export_ops.log_part_rows(part.selector,
             coalesce(p_after_created_at, part.first_created_at), coalesce(p_after_id, part.first_id),
             part.last_created_at, part.last_id) x
      join public.export_logs e on e.id = x.id
     where p_after_created_at is null or (x.created_at, x.id) > (p_after_created_at, p_after_id)
     order by x.created_at, x.id limit p_limit),
  last_row as (select r.created_at, r.id from r order by r.created_at desc, r.id desc limit 1)
  select json_build_object(
           'rows', count(*),
           'ndjson', coalesce(string_agg(r.line, E'\n' order by r.created_at, r.id) || E'\n', ''),
           'checksum', coalesce(sum(r.version_hash), 0)::text,
           'last_created_at', (select l.created_at from last_row l),
           'last_id', (select l.id from last_row l))
    into result
    from r;
  return result;
end
$$;

select export_ops.restrict_functions_to_service_role();
