import { createLogCleanupJob } from '../../../lambdas/log-cleanup/job';
import { runJob } from '../../../lambdas/shared/job';
import type { LocalStack } from '../../../local/stack';
import { jobDepsFor } from '../../support/jobs';
import { databaseMode, startTestStack } from '../../support/stack';
import { eligibleIds, expectArchivedExactlyOnce, scheduledTime, seedHistory, snapshot } from './support';

const job = createLogCleanupJob({ partRows: 20, pageRows: 7 });

describe(`overlapping log cleanup runs on ${databaseMode}`, () => {
  let stack: LocalStack;
  beforeAll(async () => {
    stack = await startTestStack();
    await seedHistory(stack, 400);
  });
  afterAll(() => stack.stop());

  test('two runs at once never archive a row twice; together with a follow-up they archive every row once', async () => {
    const before = await snapshot(stack);
    const eligible = await eligibleIds(stack);
    const [a, b] = await Promise.all([0, 1].map(async () => runJob(job, await jobDepsFor(stack, 'log-cleanup'), { scheduledTime })));
    expect(a.deleted_count + b.deleted_count).toBeGreaterThan(0);
    const follow = await runJob(job, await jobDepsFor(stack, 'log-cleanup'), { scheduledTime });
    expect(follow.more).toBe(false);
    expect(a.deleted_count + b.deleted_count + follow.deleted_count).toBe(eligible.length);
    await expectArchivedExactlyOnce(stack, before, eligible);
  });
});
