-- export-ops file cleanup: claims take turns, so one never comes back empty while rows are due.
-- Idempotent ("create or replace"); PostgreSQL 15-18 and PGlite. Replaces the claim of
-- 20261130000200_claim_files_until_full.sql; its arguments and answer are unchanged.
--
-- Why: concurrent claims all read the same window of due rows (the first 2 x p_limit not leased
-- in their snapshot). While two claims lock that whole window and have not yet committed, a
-- third skips every row of it (SKIP LOCKED) and repeats: its four passes, each a new snapshot,
-- run in less time than the others take to commit, so it saw the same locked window four times
-- and returned nothing. A run reads an empty claim as "nothing left" and stops with
-- `more: false`: on CI, one of a drain's 4 workers stopped after 13 s of a 20 s drain of 50,000
-- files. Eight claims at once on a PostgreSQL server (test/lambdas/file-cleanup/
-- concurrent-claims.test.ts) came back with 0 to 98 rows of 100 each, with more rows due than
-- all eight wanted.
--
-- Now a claim first takes a transaction-scoped advisory lock, held until its RPC commits, as the
-- log cleanup's planner does (7248830022). The next claim's statements start after that commit,
-- so their snapshot holds every lease taken before: an empty claim means every due row is held
-- by a live lease or flagged. The lock covers only the claim (67 ms median to claim 1,000 among
-- 100,000 due rows, PostgreSQL 15 on a 2-core machine); removing files and marking rows, where a
-- batch spends its time (over a second against the real Storage API), stay concurrent. The
-- drain bench's 4 workers ran 3.83x one worker's rate with it, 3.65-3.71x before. The lock is no
-- lock on the app's table: the app's reads and writes never wait for it.
--
-- The passes stay: a row the app itself has locked this instant (an update in flight) is
-- skipped, and the next pass takes the rows after it.
--
-- The body below is 20261130000200's with the lock added (and two comments on why the passes
-- remain). It is repeated whole on purpose: every migration is applied again on each start
-- (local/db/migrate.ts), so 20261130000200 recreates its version first and this file must
-- replace all of it; a wrapper around a renamed function would be undone by that rerun.

create or replace function public.export_ops_claim_files(
  p_run_id uuid, p_now timestamptz, p_grace_hours numeric, p_retention_hours numeric,
  p_limit integer, p_lease_seconds integer
) returns jsonb
language plpgsql set search_path = '' as $$
declare
  -- Enough for rows the app locks at the moment; bounded, so a claim never spins.
  claim_passes constant integer := 4;
  claimed jsonb := '[]'::jsonb;
  taken jsonb;
  candidates integer;
  wanted integer;
begin
  -- One claim at a time (see above). Its own key: the log cleanup's planner never waits on it.
  perform pg_advisory_xact_lock(7248830033);
  for pass in 1..claim_passes loop
    wanted := p_limit - jsonb_array_length(claimed);
    exit when wanted <= 0;
    with due as (
      -- Twice the limit: rows the app has locked this instant are skipped below.
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
