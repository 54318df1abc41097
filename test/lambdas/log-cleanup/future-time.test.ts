import { ListObjectsV2Command } from '@aws-sdk/client-s3';
import { handler } from '../../../lambdas/log-cleanup/handler';
import { createLogCleanupJob } from '../../../lambdas/log-cleanup/job';
import { runJob } from '../../../lambdas/shared/job';
import { createS3Client } from '../../../lambdas/shared/s3';
import type { LocalStack } from '../../../local/stack';
import { jobDepsFor } from '../../support/jobs';
import { databaseMode, startTestStack } from '../../support/stack';
import { eligibleIds, scheduledTime, seedHistory, snapshot } from './support';

const MINUTE = 60_000;
const DAY = 86_400_000;
const FAR_FUTURE = '9999-12-31T23:59:59Z';
const job = createLogCleanupJob({ partRows: 40, pageRows: 15 });

/**
 * Issue 9: a `scheduledTime` far ahead of the clock put every final log row before the cutoff,
 * so one typo archived and deleted them all. It is refused before anything is done or recorded.
 */
describe(`log cleanup and a scheduledTime ahead of the clock on ${databaseMode}`, () => {
  let stack: LocalStack;
  const saved = { ...process.env };
  beforeAll(async () => {
    stack = await startTestStack();
    Object.assign(process.env, stack.env);
    await seedHistory(stack, 300);
  });
  afterAll(async () => {
    process.env = saved;
    await stack.stop();
  });

  /** Everything a cleanup run could change: the rows, the archive, its parts and the run records. */
  const state = async () => ({
    logs: await snapshot(stack),
    archive: (await createS3Client(stack.env).send(new ListObjectsV2Command({ Bucket: stack.env.ARCHIVE_BUCKET }))).KeyCount ?? 0,
    parts: (await stack.db.query('select p::text from export_ops.archive_parts p order by 1')).rows,
    runs: (await stack.db.query('select r::text from export_ops.runs r order by started_at')).rows,
  });

  test.each([
    ['the Lambda handler', () => handler({ scheduledTime: FAR_FUTURE })],
    ['runJob', async () => runJob(job, await jobDepsFor(stack, 'log-cleanup'), { scheduledTime: FAR_FUTURE })],
    ['runJob, for one user', async () =>
      runJob(job, await jobDepsFor(stack, 'log-cleanup'), { scheduledTime: new Date(Date.now() + 40 * DAY).toISOString(), userId: '00000000-0000-0000-0000-000000000001' })],
  ])('%s refuses it with the field, value, clock and skew named, and nothing is archived, deleted or recorded', async (_via, call) => {
    const before = await state();
    expect(before.logs.size).toBeGreaterThan(0);
    await expect(call()).rejects.toThrow(/invalid log-cleanup input: scheduledTime: scheduledTime \S+ is ahead of this machine's clock \(\d{4}-\d\d-\d\dT[\d:.]+Z\) by more than the allowed skew of 5 minutes/);
    expect(await state()).toEqual(before);
  });

  test('a time one minute ahead is accepted', async () => {
    const ahead = new Date(Math.floor(Date.now() / 1000) * 1000 + MINUTE);
    const result = await runJob(job, await jobDepsFor(stack, 'log-cleanup'), { scheduledTime: ahead.toISOString(), dryRun: true });
    expect(result).toMatchObject({ dry_run: true, deleted_count: 0, cutoff_date: new Date(ahead.getTime() - 30 * DAY).toISOString() });
    expect(result.eligible_count).toBeGreaterThan(0);
  });

  test('a past time is accepted and cleans what was due then', async () => {
    const eligible = await eligibleIds(stack);
    const result = await runJob(job, await jobDepsFor(stack, 'log-cleanup'), { scheduledTime });
    expect(result).toMatchObject({ deleted_count: eligible.length, archived_count: eligible.length });
  });
});
