import { ListObjectsV2Command } from '@aws-sdk/client-s3';
import { createLogCleanupJob } from '../../../lambdas/log-cleanup/job';
import { createS3Client } from '../../../lambdas/shared/s3';
import { runJob } from '../../../lambdas/shared/job';
import type { LocalStack } from '../../../local/stack';
import { jobDepsFor } from '../../support/jobs';
import { databaseMode, startTestStack } from '../../support/stack';
import { eligibleIds, scheduledTime, seedHistory, snapshot } from './support';

const job = createLogCleanupJob({ unarchivedBatchRows: 25 });

describe(`log cleanup with archival off, on ${databaseMode}`, () => {
  let stack: LocalStack;
  beforeAll(async () => {
    stack = await startTestStack();
    await seedHistory(stack);
  });
  afterAll(() => stack.stop());

  test('refuses to delete unarchived unless the config says so explicitly', async () => {
    const before = await snapshot(stack);
    const deps = await jobDepsFor(stack, 'log-cleanup', { ARCHIVE_ENABLED: 'false' });
    await expect(runJob(job, deps, { scheduledTime })).rejects.toThrow(/ALLOW_UNARCHIVED_DELETE is not true: refusing/);
    expect(await snapshot(stack)).toEqual(before);
  });

  test('refuses archival without a bucket', async () => {
    const before = await snapshot(stack);
    const deps = await jobDepsFor(stack, 'log-cleanup');
    deps.config.archive.bucket = undefined;
    await expect(runJob(job, deps, { scheduledTime })).rejects.toThrow(/ARCHIVE_BUCKET is required/);
    expect(await snapshot(stack)).toEqual(before);
  });

  test('with ALLOW_UNARCHIVED_DELETE=true deletes exactly the eligible rows, in batches, and writes nothing to S3', async () => {
    const before = await snapshot(stack);
    const eligible = await eligibleIds(stack);
    const deps = await jobDepsFor(stack, 'log-cleanup', { ARCHIVE_ENABLED: 'false', ALLOW_UNARCHIVED_DELETE: 'true' });
    const result = await runJob(job, deps, { scheduledTime });
    expect(result).toMatchObject({ deleted_count: eligible.length, archived_count: 0, archive: 'off', more: false });
    const after = await snapshot(stack);
    expect([...before.keys()].filter((id) => !after.has(id)).sort()).toEqual(eligible);
    const listed = await createS3Client(stack.env).send(new ListObjectsV2Command({ Bucket: stack.env.ARCHIVE_BUCKET }));
    expect(listed.KeyCount ?? 0).toBe(0);
  });
});
