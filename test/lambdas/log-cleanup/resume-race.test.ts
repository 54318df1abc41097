import { createServiceClient } from '../../../lambdas/shared/supabase';
import { createLogCleanupJob } from '../../../lambdas/log-cleanup/job';
import { runJob } from '../../../lambdas/shared/job';
import type { LocalStack } from '../../../local/stack';
import { jobDepsFor } from '../../support/jobs';
import { databaseMode, startTestStack } from '../../support/stack';
import { CUTOFF, readArchive, scheduledTime } from './support';

const USER = '00000000-0000-0000-0000-0000000000c1';
/**
 * Stale rows in front of the work: the planner scans past them, which on a server gives a
 * resumed part's delete time to commit between the planner's reads. PGlite runs one statement
 * at a time, so there the race cannot happen and fewer rows keep the test quick.
 */
const STALE_ROWS = process.env.DATABASE_URL ? 300_000 : 5_000;
const FAILED_ROWS = 5_000;

/** Inserts `count` rows of one status, created from `from` one second apart. */
async function insertRows(stack: LocalStack, count: number, status: string, from: Date) {
  await stack.db.query(
    `insert into public.export_logs (export_id, user_id, "timestamp", format, config, conversation_count, status, error_message, created_at, updated_at)
     select gen_random_uuid(), $1, t, 'json', '{}', 1, $3, case when $3 = 'failed' then 'TimeoutError: slow' end, t, t
       from (select $4::timestamptz + make_interval(secs => i) as t from generate_series(1, $2::int) i) g`,
    [USER, count, status, from.toISOString()],
  );
}

describe(`log cleanup resuming a crashed run's part, on ${databaseMode}`, () => {
  let stack: LocalStack;
  beforeAll(async () => {
    stack = await startTestStack();
    await stack.db.query(`insert into auth.users (id) values ($1) on conflict do nothing`, [USER]);
  });
  afterAll(() => stack.stop());

  const supabase = () => createServiceClient(stack.supabase.url, stack.serviceRoleKey);
  const claimPart = async (runId: string, leaseSeconds: number) => {
    const { data, error } = await supabase().rpc('export_ops_log_cleanup_claim_part', {
      p_run_id: runId, p_cutoff: CUTOFF.toISOString(), p_user_id: null, p_prefix: 'export-logs', p_part_rows: 50_000, p_lease_seconds: leaseSeconds,
    });
    if (error) throw new Error(error.message);
    return data as { part: { part_key: string; first_id: string; last_id: string; row_count: number } | null };
  };
  const startRun = async () => {
    const { data, error } = await supabase().rpc('export_ops_start_run', { p_job: 'log-cleanup' });
    if (error) throw new Error(error.message);
    return data as string;
  };

  test('a part is never planned over a part not yet deleted, even by the run that holds it', async () => {
    await insertRows(stack, 40, 'failed', new Date(CUTOFF.getTime() - 200 * 86400_000));
    const runId = await startRun();
    const first = await claimPart(runId, 600);
    expect(first.part?.row_count).toBe(40);
    // The same run asks again while the first part is in flight: nothing else is eligible.
    expect((await claimPart(runId, 600)).part).toBeNull();
    await stack.db.query(`update export_ops.archive_parts set state = 'deleted' where part_key = $1`, [first.part!.part_key]);
    await stack.db.query(`delete from public.export_logs where created_at < $1`, [new Date(CUTOFF.getTime() - 150 * 86400_000).toISOString()]);
  });

  test("the first rerun after a crash finishes the crashed run's part and plans nothing over it: no failed run", async () => {
    await insertRows(stack, STALE_ROWS, 'queued', new Date(CUTOFF.getTime() - 120 * 86400_000));
    const failedFrom = new Date('2026-08-03T00:00:00Z');
    await insertRows(stack, FAILED_ROWS, 'failed', failedFrom);
    // A run planned the part, then crashed: its lease has run out.
    const crashed = await startRun();
    const planned = await claimPart(crashed, 0);
    expect(planned.part?.row_count).toBe(FAILED_ROWS);

    const result = await runJob(createLogCleanupJob(), await jobDepsFor(stack, 'log-cleanup'), { scheduledTime });
    expect(result).toMatchObject({ deleted_count: FAILED_ROWS, archived_count: FAILED_ROWS, more: false });
    const archive = await readArchive(stack);
    expect(archive.manifests.map((m) => m.part_key)).toContain(planned.part!.part_key);
    expect(new Set(archive.lines.map((l) => JSON.parse(l).id)).size).toBe(archive.lines.length);
    const { rows: [left] } = await stack.db.query<{ failed: number; queued: number; open: number }>(
      `select (select count(*)::int from public.export_logs where status = 'failed') as failed,
              (select count(*)::int from public.export_logs where status = 'queued') as queued,
              (select count(*)::int from export_ops.archive_parts where state <> 'deleted') as open`);
    expect(left).toEqual({ failed: 0, queued: STALE_ROWS, open: 0 });
    const { rows: failedRuns } = await stack.db.query(`select error from export_ops.runs where status = 'failed'`);
    expect(failedRuns).toEqual([]);
  }, 180_000);
});
