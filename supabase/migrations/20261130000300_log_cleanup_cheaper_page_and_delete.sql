-- export-ops log cleanup: a cheaper page, and a delete that checks row versions, not row text.
-- Idempotent ("create or replace"); PostgreSQL 15-18 and PGlite. Replaces the page and delete
-- functions of 20261129000200_log_cleanup.sql; their arguments and answers are unchanged.
--
-- Measured on PostgreSQL 15, 1,000,000 rows vacuumed and analyzed: one page of 5,000 rows took
-- 79-82 ms of SQL before and 66-68 ms after; one 50,000-row delete 1.06 s before, 0.66 s after.
--
-- Why: the delete proves that the rows it removes are exactly the rows archived, by a count and
-- a row checksum taken when the page was read. The checksum was a hash of each row's archived
-- JSON text, so every delete wrote every row as JSON a second time: 0.4 s of a part's 1.06 s
-- delete (50,000 rows), and the delete of one part, overlapped with the writing of the next,
-- was the longer of the two.
--
-- Now the checksum sums a hash of what the archived text is made of: the app row's id and row
-- version (its xmin) and the finish time from export_ops.exports. Any UPDATE of the app's row,
-- by the app, a trigger or restore, makes a new row version with a new xmin, so a row changed
-- since its page was read no longer matches, nor does a row deleted and inserted again, nor a
-- new row in the part's range; and the archived line is a function of that row version and the
-- finish time (export_ops.archive_line, with TimeZone fixed to UTC). VACUUM and freezing leave
-- the xmin a query reads unchanged. A part verified under the old checksum before this
-- migration is found stale at its delete and written again: nothing is lost.

-- Stable, as extract() on a timestamptz is: a SQL function declared more strictly than its body
-- is not inlined, and a call per row cost 2 µs (4 s over 1M rows, page and delete).
create or replace function export_ops.row_version_hash(p_id uuid, p_version xid, p_finished_at timestamptz) returns bigint
language sql stable as $$
  select hashtextextended(p_id::text || ':' || p_version::text || ':' || coalesce(extract(epoch from p_finished_at)::text, '-'), 0)
$$;

-- 4. Writing a part (see 20261129000200_log_cleanup.sql): lines built in one call, the checksum of row versions.
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
  -- The page's rows once (materialized), then the aggregates over them. The line is the row
  -- of export_logs as row_to_json writes it with finished_at appended, built in one call
  -- (byte for byte what export_ops.archive_line returns, checked over 1M rows, but without its
  -- text surgery); the last key is a top-1 pick, not a second and third sort of the page.
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

-- 5. The delete: removes the part's rows only if their row versions are the ones archived.
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
      returning export_ops.row_version_hash(e.id, e.xmin, x.finished_at) as h)
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

select export_ops.restrict_functions_to_service_role();
