-- export-ops log cleanup: a cheaper claim and delete of a part. Idempotent ("create or
-- replace"); PostgreSQL 15-18 and PGlite. Replaces the claim of 20261129000200_log_cleanup.sql
-- and the delete of 20261130000300_log_cleanup_cheaper_page_and_delete.sql; their arguments,
-- answers and checks are unchanged.
--
-- Measured on PostgreSQL 15, 1,000,000 rows vacuumed and analyzed, over one whole run of the
-- job (pg_stat_user_functions): the 21 claims took 2.7-2.8 s before and 0.53-0.57 s after, the
-- deletes (export-ops' trigger aside) 5.2-5.4 s before and 4.4 s after; in psql, one 50,000-row
-- delete 360-380 ms before and 335-345 ms after; a claim in mid-month 210 ms before, 60 ms after.
--
-- The claim plans a part: the rows from the first one not yet in a part, in (created_at, id)
-- order, up to p_part_rows or the end of its month. The planner read that range with a bitmap
-- scan of the whole rest of the month and sorted it (the month's end is the bound it knows; the
-- LIMIT came after the sort): 420,000 rows read and sorted on disk to plan a part of 50,000 in
-- mid-month, so each claim of a run cost more than the one before it in the month, and a
-- 10M-row table's month holds millions. Without bitmap scans (for this function only) the range
-- is read in index order and stops at the part's last row. The last key is then a top-1 pick,
-- not two sorts of the part's keys.
--
-- The delete's checksum needs each row's finish time from export_ops.exports. The delete joined
-- the table for it, one primary-key probe per deleted row (50,000 a part), though the part's
-- range, read from the same table to collect the ids, held the finish times already. Now the
-- range is read once (materialized), its ids drive the delete and its finish times are joined
-- to the deleted rows by hash. Both reads see the statement's one snapshot, so the answer is
-- the same; a row changed by a concurrent write is deleted (if at all) in its new version, whose
-- xmin no longer matches the archived checksum: the part is found stale and nothing of it is
-- deleted, as before.

-- 3. (replaced) Planning the next part.
create or replace function public.export_ops_log_cleanup_claim_part(
  p_run_id uuid, p_cutoff timestamptz, p_user_id uuid, p_prefix text, p_part_rows integer, p_lease_seconds integer,
  p_after_created_at timestamptz default null, p_after_id uuid default null
) returns json
language plpgsql set search_path = '' set timezone = 'UTC' set plan_cache_mode = 'force_custom_plan'
  set enable_bitmapscan = off as $$
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
        order by e.created_at, e.id limit p_part_rows) s),
  -- One scan gives the count and the last key (a second scan of the part costs more than
  -- picking the largest key of the rows read: a top-1 pass, not a sort).
  last_row as (select r.created_at, r.id from part_rows r order by r.created_at desc, r.id desc limit 1)
  select f.created_at, f.id, (select count(*)::int from part_rows), l.created_at, l.id
    into first_at, first_key, n, last_at, last_id
    from start_row f left join last_row l on true;
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

-- 5. (replaced) The delete: removes the part's rows only if their row versions are the ones archived.
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
    with part_rows as materialized (
      select s.id, s.finished_at
        from export_ops.log_part_rows(part.selector, part.first_created_at, part.first_id, part.last_created_at, part.last_id) s),
    gone as (
      delete from public.export_logs e
       where e.id = any (array(select p.id from part_rows p))
      returning e.id, e.xmin)
    select count(*)::int, coalesce(sum(export_ops.row_version_hash(g.id, g.xmin, p.finished_at)), 0) into n, checksum
      from gone g join part_rows p on p.id = g.id;
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
