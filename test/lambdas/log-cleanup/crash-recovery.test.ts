import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { join } from 'node:path';
import { createLogCleanupJob } from '../../../lambdas/log-cleanup/job';
import { runJob } from '../../../lambdas/shared/job';
import type { LocalStack } from '../../../local/stack';
import { jobDepsFor } from '../../support/jobs';
import { databaseMode, startTestStack } from '../../support/stack';
import { eligibleIds, expectArchivedExactlyOnce, scheduledTime, seedHistory, snapshot } from './support';

const CHILD = join(__dirname, 'run-in-child.ts');
const DELETE_RPC = '/rest/v1/rpc/export_ops_log_cleanup_delete_part';
/** The killed run's lease: short, so the rerun may take its parts over without a long wait. */
const LEASE_SECONDS = 2;

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
async function waitFor(what: string, check: () => Promise<boolean> | boolean, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(25);
  }
}

const partsIn = async (stack: LocalStack, state: string) =>
  (await stack.db.query<{ n: number }>('select count(*)::int as n from export_ops.archive_parts where state = $1', [state])).rows[0].n;

describe(`log cleanup killed mid-run, on ${databaseMode}`, () => {
  let stack: LocalStack;
  beforeEach(async () => {
    stack = await startTestStack();
    await seedHistory(stack, 300);
  });
  afterEach(() => stack.stop());

  test.each([
    ['after the second part is uploaded and before its delete', 'before' as const],
    ['after the second part\'s delete committed, before its answer arrived', 'after' as const],
  ])('killed %s, then rerun: nothing lost, nothing duplicated', async (_when, when) => {
    const before = await snapshot(stack);
    const eligible = await eligibleIds(stack);
    const fault = stack.supabase.faults.add({ method: 'POST', path: DELETE_RPC, nth: 2, when, fault: { hang: true } });
    const child = spawn(process.execPath, [require.resolve('tsx/cli'), CHILD, '30', '10', String(LEASE_SECONDS), scheduledTime], {
      env: { ...process.env, ...stack.env, POWERTOOLS_LOG_LEVEL: 'ERROR' },
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    let stderr = '';
    child.stderr.on('data', (chunk) => { stderr += chunk; });
    const exited = once(child, 'exit');

    await waitFor('the second delete to be frozen', () => fault.injected >= 1 || child.exitCode !== null);
    expect(stderr).toBe('');
    if (when === 'after') await waitFor('the second delete to commit', async () => (await partsIn(stack, 'deleted')) >= 2);
    await sleep(300); // let the run go on writing the next part, as it does while a delete is in flight
    child.kill('SIGKILL');
    await exited;
    fault.remove();

    // At the kill: only parts recorded deleted have lost their rows.
    const { rows: [{ n: deletedRows }] } = await stack.db.query<{ n: number }>(
      `select coalesce(sum(row_count), 0)::int as n from export_ops.archive_parts where state = 'deleted'`,
    );
    expect(before.size - (await snapshot(stack)).size).toBe(deletedRows);
    expect(await partsIn(stack, 'deleted')).toBe(when === 'before' ? 1 : 2);
    expect(await partsIn(stack, 'verified')).toBeGreaterThanOrEqual(when === 'before' ? 1 : 0);

    await sleep(LEASE_SECONDS * 1000 + 100);
    const rerun = await runJob(createLogCleanupJob({ partRows: 30, pageRows: 10 }), await jobDepsFor(stack, 'log-cleanup'), { scheduledTime });
    expect(rerun.more).toBe(false);
    expect(rerun.deleted_count).toBe(eligible.length - deletedRows);
    await expectArchivedExactlyOnce(stack, before, eligible);
    expect(await partsIn(stack, 'pending') + await partsIn(stack, 'verified')).toBe(0);
  });

  test('a rerun while the killed run\'s lease is live leaves its part alone and says there is more', async () => {
    const fault = stack.supabase.faults.add({ method: 'POST', path: DELETE_RPC, nth: 1, fault: { hang: true } });
    const child = spawn(process.execPath, [require.resolve('tsx/cli'), CHILD, '30', '10', '600', scheduledTime], {
      env: { ...process.env, ...stack.env, POWERTOOLS_LOG_LEVEL: 'ERROR' }, stdio: 'ignore',
    });
    const exited = once(child, 'exit');
    await waitFor('the first delete to be frozen', () => fault.injected >= 1);
    child.kill('SIGKILL');
    await exited;
    fault.remove();
    const before = await snapshot(stack);
    const rerun = await runJob(createLogCleanupJob({ partRows: 30, pageRows: 10 }), await jobDepsFor(stack, 'log-cleanup'), { scheduledTime });
    expect(rerun).toMatchObject({ deleted_count: 0, more: true });
    expect(rerun.busy_part).toEqual(expect.any(String));
    expect(await snapshot(stack)).toEqual(before);
  });
});
