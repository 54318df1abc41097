import type { S3Client } from '@aws-sdk/client-s3';
import { createLogCleanupJob } from '../../../lambdas/log-cleanup/job';
import { runJob } from '../../../lambdas/shared/job';
import type { LocalStack } from '../../../local/stack';
import { jobDepsFor } from '../../support/jobs';
import { databaseMode, startTestStack } from '../../support/stack';
import { eligibleIds, expectArchivedExactlyOnce, readArchive, s3Of, scheduledTime, seedHistory, snapshot } from './support';

const job = createLogCleanupJob({ partRows: 30, pageRows: 10 });

/**
 * Makes the client's nth object write (PutObject or UploadPart) fail, through the SDK's own
 * middleware stack, before the request leaves: S3 "failing mid-upload".
 */
function failNthWrite(s3: S3Client, nth: number): void {
  let writes = 0;
  s3.middlewareStack.add(
    (next, context) => async (args) => {
      if (['PutObjectCommand', 'UploadPartCommand'].includes(context.commandName as string) && ++writes === nth) {
        throw Object.assign(new Error('injected: S3 write failed'), { name: 'InternalError', $fault: 'server' });
      }
      return next(args);
    },
    { step: 'initialize', name: 'failNthWrite' },
  );
}

describe(`log cleanup when S3 fails, on ${databaseMode}`, () => {
  let stack: LocalStack;
  beforeEach(async () => {
    stack = await startTestStack();
    await seedHistory(stack, 300);
  });
  afterEach(() => stack.stop());

  test('S3 unreachable: the run fails and deletes nothing', async () => {
    const before = await snapshot(stack);
    const deps = await jobDepsFor(stack, 'log-cleanup', { AWS_ENDPOINT_URL_S3: 'http://127.0.0.1:9' });
    await expect(runJob(job, deps, { scheduledTime })).rejects.toThrow(/archive part .* failed/);
    expect(await snapshot(stack)).toEqual(before);
  });

  test.each([
    ['the second part\'s object', 3],
    ['the second part\'s manifest, after its object was stored', 4],
  ])('a failed write of %s deletes nothing of that part; a rerun ends with one copy of each row', async (_what, nth) => {
    const before = await snapshot(stack);
    const eligible = await eligibleIds(stack);
    const deps = await jobDepsFor(stack, 'log-cleanup');
    failNthWrite(s3Of(deps), nth);
    await expect(runJob(job, deps, { scheduledTime })).rejects.toThrow(/injected: S3 write failed/);

    // Only the first part (written and verified before the failure) is gone, and exactly its rows.
    const midway = await snapshot(stack);
    const { rows: deleted } = await stack.db.query<{ part_key: string; row_count: number }>(
      `select part_key, row_count from export_ops.archive_parts where state = 'deleted'`,
    );
    expect(deleted).toHaveLength(1);
    const gone = [...before.keys()].filter((id) => !midway.has(id)).sort();
    const archived = await readArchive(stack, { partial: true });
    expect(archived.manifests.map((m) => m.part_key)).toEqual([deleted[0].part_key]);
    expect(archived.lines.map((l) => (JSON.parse(l) as { id: string }).id).sort()).toEqual(gone);

    const rerun = await runJob(job, await jobDepsFor(stack, 'log-cleanup'), { scheduledTime });
    expect(rerun.more).toBe(false);
    expect(rerun.deleted_count).toBe(eligible.length - deleted[0].row_count);
    await expectArchivedExactlyOnce(stack, before, eligible);
  });
});
