-- export-ops file cleanup: a claim fills its batch even while other runs claim beside it.
-- Idempotent ("create or replace"); PostgreSQL 15-18 and PGlite. Replaces the claim of
-- 20261129000100_file_cleanup.sql; its arguments and answer are unchanged.
--
-- Why: a claim is one statement with one snapshot. When another run's claim commits after that
-- snapshot was taken and before this claim locks its rows, this claim locks rows the other run
-- has just leased (they were unlocked by then), and ON CONFLICT rightly leaves them to it. The
-- claim then came back short, or empty while thousands of rows were still due; a run reads an
-- empty claim as "nothing left" and stopped with `more: false`. Seen with two drain workers on
-- 100,000 due files: the second worker stopped after its first invocation, and two workers
-- drained no faster than one.
--
-- Now the claim repeats, each pass a new statement that sees what the other runs committed,
-- until the batch is full, no due row is left, or CLAIM_PASSES passes were made.

create or replace function public.export_ops_claim_files(
  p_run_id uuid, p_now timestamptz, p_grace_hours numeric, p_retention_hours numeric,
  p_limit integer, p_lease_seconds integer
) returns jsonb
language plpgsql set search_path = '' as $$
declare
  -- Enough for the races of a few concurrent workers; bounded, so a claim never spins.
  claim_passes constant integer := 4;
  claimed jsonb := '[]'::jsonb;
  taken jsonb;
  candidates integer;
  wanted integer;
begin
  for pass in 1..claim_passes loop
    wanted := p_limit - jsonb_array_length(claimed);
    exit when wanted <= 0;
    with due as (
      -- Twice the limit: rows another claim has locked this instant are skipped below.
      select d.id from export_ops.file_cleanup_due(export_ops.check_job_now(p_now), p_grace_hours, p_retention_hours, wanted * 2, null, null, true) d
    ),
    locked as (
      select l.id from public.export_logs l where l.id in (select id from due) and l.status = 'completed'
       order by l.id limit wanted for update of l skip locked
    ),
    leased as (
      insert into export_ops.file_claims as c (export_log_id, run_id, lease_until)
      select id, p_run_id, now() + make_interval(secs => p_lease_seconds) from locked
      on conflict (export_log_id) do update set run_id = excluded.run_id, lease_until = excluded.lease_until
        where c.skip_reason is null and (c.lease_until is null or c.lease_until <= now())
      returning c.*
    )
    select (select count(*) from due),
           coalesce(jsonb_agg(export_ops.file_cleanup_row(l, x, c) order by l.id), '[]'::jsonb)
      into candidates, taken
      from leased c join public.export_logs l on l.id = c.export_log_id join export_ops.exports x on x.id = l.id;
    claimed := claimed || taken;
    exit when candidates = 0;
  end loop;
  return claimed;
end
$$;

select export_ops.restrict_functions_to_service_role();
