-- export-ops log cleanup, continued: deleting with archival off, statistics, and restore.
-- Idempotent; PostgreSQL 15-18 and PGlite. Every function here is for service_role only.

-- 1. Archival turned off (and unarchived deletes allowed explicitly): delete a bounded batch.
create or replace function public.export_ops_log_cleanup_delete_unarchived(p_cutoff timestamptz, p_user_id uuid, p_limit integer)
returns integer
language plpgsql set search_path = '' as $$
declare
  deleted integer;
begin
  delete from public.export_logs e
   where e.id in (select s.id from export_ops.log_part_rows(export_ops.log_selector(p_cutoff, p_user_id),
                                   '-infinity', export_ops.min_uuid(), 'infinity', export_ops.max_uuid()) s
                   order by s.created_at, s.id limit p_limit);
  get diagnostics deleted = row_count;
  return deleted;
end
$$;

-- 2. Statistics (the fields of the original route's getCleanupStats, sizes measured from the rows). The rows
-- left on purpose (stale, waiting for their file) are counted through the status index; the
-- eligible count and size need a pass over the eligible rows, skipped when p_measure is false
-- (a real run, which counts what it deletes anyway).
create or replace function public.export_ops_log_cleanup_stats(
  p_cutoff timestamptz, p_user_id uuid default null, p_measure boolean default true
) returns json
language plpgsql stable set search_path = '' set timezone = 'UTC' set plan_cache_mode = 'force_custom_plan' as $$
declare
  sel jsonb := export_ops.log_selector(p_cutoff, p_user_id);
  eligible bigint;
  bytes numeric;
  stale bigint;
  waiting bigint := 0;
begin
  if p_measure then
    select count(*), coalesce(sum(pg_column_size(e.*)), 0) into eligible, bytes
      from export_ops.log_part_rows(sel, '-infinity', export_ops.min_uuid(), 'infinity', export_ops.max_uuid()) x
      join public.export_logs e on e.id = x.id;
  end if;
  select count(*) into stale from export_ops.exports x
   where x.status in ('queued', 'processing')
     and case when p_user_id is null then x.created_at < p_cutoff else x.user_id = p_user_id end;
  if p_user_id is null then
    select count(*) into waiting from export_ops.exports x
     where x.status = 'completed' and x.created_at < p_cutoff and x.storage_path is not null
       and exists (select 1 from storage.objects o where o.bucket_id = x.storage_bucket and o.name = x.storage_path);
  end if;
  return json_build_object(
    'eligible_for_cleanup', eligible,
    'total_size_estimate_mb', round(bytes / 1048576.0, 3),
    'oldest_log_date', (select min(created_at) from public.export_logs),
    'cutoff_date', p_cutoff,
    'stale_count', stale,
    'waiting_for_file_count', waiting,
    'open_parts', (select count(*) from export_ops.archive_parts where state <> 'deleted'));
end
$$;

-- 3. Restore: puts one archived part's rows back. The caller (npx export-ops restore) has
-- checked the object's SHA-256 against archive_parts.sha256, the hash this database recorded
-- when it verified the upload, and sends the lines of that one read. Here every row must also
-- lie in the part's recorded key range, or nothing of the call is inserted. Rows go in through
-- an ordinary insert of the app's columns, so the app's constraints and export-ops' triggers
-- judge them as they judge the app's own writes; then their finish time is set back to the
-- archived one, so they stay counted in the hour they were counted in.
-- Rows already present (same id or export_id) are skipped, so a restore can be rerun; rows
-- whose user no longer exists are counted, not inserted (the app's foreign key would refuse).
-- SECURITY DEFINER only to read auth.users, which service_role cannot; EXECUTE stays granted
-- to service_role alone.
create or replace function public.export_ops_log_cleanup_restore(p_part_key text, p_ndjson text, p_dry_run boolean default false)
returns json
language plpgsql security definer set search_path = '' set timezone = 'UTC' set plan_cache_mode = 'force_custom_plan' as $$
declare
  part export_ops.archive_parts;
  outside integer;
  inserted_ids uuid[];
  result json;
begin
  select * into part from export_ops.archive_parts where part_key = p_part_key;
  if not found or part.state = 'pending' then
    raise exception 'archive part % is not a verified part recorded by this database: nothing restored', p_part_key
      using errcode = 'P0001';
  end if;
  create temporary table if not exists pg_temp.restore_lines (line jsonb, r public.export_logs, finished_at timestamptz) on commit drop;
  truncate pg_temp.restore_lines;
  insert into pg_temp.restore_lines
  select line::jsonb, jsonb_populate_record(null::public.export_logs, line::jsonb), (line::jsonb ->> 'finished_at')::timestamptz
    from regexp_split_to_table(p_ndjson, E'\n') as line
   where line <> '';
  select count(*) into outside from pg_temp.restore_lines a
   where (a.r).id is null
      or ((a.r).created_at, (a.r).id) < (part.first_created_at, part.first_id)
      or ((a.r).created_at, (a.r).id) > (part.last_created_at, part.last_id);
  if outside > 0 then
    raise exception '% of the rows sent are not rows of archive part % (outside its recorded key range): nothing restored',
      outside, p_part_key using errcode = 'P0001';
  end if;
  -- Two statements: the triggers track the inserted rows at the end of the insert statement,
  -- and only then can their finish time be set back.
  with inserted as (
    insert into public.export_logs
    select (a.r).* from pg_temp.restore_lines a
     where not p_dry_run and exists (select 1 from auth.users u where u.id = (a.r).user_id)
    on conflict do nothing
    returning id)
  select coalesce(array_agg(id), '{}') into inserted_ids from inserted;
  update export_ops.exports x
     set finished_at = least(a.finished_at, now()), finished_source = 'restored'
    from pg_temp.restore_lines a
   where x.id = (a.r).id and x.id = any (inserted_ids) and a.finished_at is not null;
  select json_build_object(
    'rows', (select count(*) from pg_temp.restore_lines),
    'inserted', cardinality(inserted_ids),
    'present', (select count(*) from pg_temp.restore_lines a
                 where exists (select 1 from public.export_logs e where e.id = (a.r).id or e.export_id = (a.r).export_id)
                   and not (a.r).id = any (inserted_ids)),
    'orphaned', (select count(*) from pg_temp.restore_lines a where not exists (select 1 from auth.users u where u.id = (a.r).user_id)))
  into result;
  return result;
end
$$;

-- The database's record of the parts under an object-key prefix (the restore's list of what
-- may come back), one keyset page at a time.
create or replace function public.export_ops_log_cleanup_parts(p_prefix text, p_after_key text default null, p_limit integer default 100)
returns jsonb
language sql stable set search_path = '' as $$
  select coalesce(jsonb_agg(jsonb_build_object('part_key', p.part_key, 'object_key', p.object_key, 'sha256', p.sha256,
                                               'row_count', p.row_count, 'state', p.state) order by p.object_key), '[]'::jsonb)
    from (select * from export_ops.archive_parts
           where state <> 'pending' and starts_with(object_key, coalesce(p_prefix, ''))
             and (p_after_key is null or object_key > p_after_key)
           order by object_key limit least(greatest(p_limit, 1), 1000)) p;
$$;

select export_ops.restrict_functions_to_service_role();
