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

-- 2. Statistics (the seed's getCleanupStats fields, sizes measured from the rows). The rows
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
      from export_ops.log_part_rows(sel, '-infinity', export_ops.min_uuid(), 'infinity', export_ops.max_uuid()) e;
  end if;
  select count(*) into stale from public.export_logs e
   where e.status in ('queued', 'processing')
     and case when p_user_id is null then e.created_at < p_cutoff else e.user_id = p_user_id end;
  if p_user_id is null then
    select count(*) into waiting from public.export_logs e
     where e.status = 'completed' and e.created_at < p_cutoff and e.storage_path is not null
       and exists (select 1 from storage.objects o where o.bucket_id = e.storage_bucket and o.name = e.storage_path);
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

-- 3. Restore: puts archived rows back exactly. Rows already present (same id or export_id)
-- are skipped, so a restore can be rerun; rows whose user no longer exists are counted, not
-- inserted (the app's foreign key would refuse them).
-- SECURITY DEFINER only to read auth.users, which service_role cannot; EXECUTE stays granted
-- to service_role alone.
create or replace function public.export_ops_log_cleanup_restore(p_ndjson text, p_dry_run boolean default false)
returns json
language plpgsql security definer set search_path = '' set timezone = 'UTC' set plan_cache_mode = 'force_custom_plan' as $$
declare
  result json;
begin
  with archived as (
    select r.* from regexp_split_to_table(p_ndjson, E'\n') as line,
           jsonb_populate_record(null::public.export_logs, line::jsonb) r
     where line <> ''),
  inserted as (
    insert into public.export_logs
    select a.* from archived a
     where not p_dry_run and exists (select 1 from auth.users u where u.id = a.user_id)
    on conflict do nothing
    returning 1)
  select json_build_object(
    'rows', (select count(*) from archived),
    'inserted', (select count(*) from inserted),
    'present', (select count(*) from archived a
                 where exists (select 1 from public.export_logs e where e.id = a.id or e.export_id = a.export_id)),
    'orphaned', (select count(*) from archived a where not exists (select 1 from auth.users u where u.id = a.user_id)))
  into result;
  return result;
end
$$;

select export_ops.restrict_functions_to_service_role();
