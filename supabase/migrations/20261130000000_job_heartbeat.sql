-- export-ops job heartbeat: when each job last completed a real run, for the staleness metric
-- the hourly metrics job emits (SecondsSinceLastSuccess). CloudWatch evaluates an alarm over
-- at most seven days, so a monthly job cannot be watched by its own metrics; the hourly job
-- reports its age instead.
--
-- Idempotent ("create or replace"); PostgreSQL 15-18 and PGlite. Returns ONE jsonb value.

-- {"<job>": "<time>"} for every job: the finish of its last real (not dry) succeeded or partial
-- run; a job that never completed one gets the start of the first run export-ops recorded
-- (so a fresh install counts from its first run, not from nothing).
create or replace function public.export_ops_last_success()
returns jsonb
language sql stable set search_path = '' as $$
  select jsonb_object_agg(j.job, coalesce(
           (select max(r.finished_at) from export_ops.runs r
             where r.job = j.job and r.status in ('succeeded', 'partial') and not r.dry_run),
           (select min(r.started_at) from export_ops.runs r)))
    from (values ('file-cleanup'), ('log-cleanup'), ('metrics-aggregate')) as j(job);
$$;

select export_ops.restrict_functions_to_service_role();
