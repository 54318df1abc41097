import { handler } from '../../../lambdas/log-cleanup/handler';
import { createLogCleanupJob } from '../../../lambdas/log-cleanup/job';
import { runJob } from '../../../lambdas/shared/job';
import type { LocalStack } from '../../../local/stack';
import { jobDepsFor } from '../../support/jobs';
import { databaseMode, startTestStack } from '../../support/stack';
import { expectArchivedExactlyOnce, scheduledTime, seedHistory, snapshot } from './support';

describe(`log cleanup user purge and input on ${databaseMode}`, () => {
  let stack: LocalStack;
  beforeAll(async () => {
    stack = await startTestStack();
    await seedHistory(stack, 600);
  });
  afterAll(() => stack.stop());

  const runs = async () => (await stack.db.query('select 1 from export_ops.runs')).rows.length;

  test.each([
    [{ userId: 'not-a-uuid' }, /userId: userId must be a UUID/],
    [{ userId: 42 }, /userId/],
    [{ dryRun: 'yes' }, /dryRun: dryRun must be true or false/],
    [{ scheduledTime: 'yesterday' }, /scheduledTime must be an ISO 8601 date-time/],
    [{ deleteEverything: true }, /deleteEverything/],
  ])('refuses %j clearly and does nothing', async (event, message) => {
    const before = await snapshot(stack);
    const runsBefore = await runs();
    await expect(handler(event)).rejects.toThrow(message);
    expect(await snapshot(stack)).toEqual(before);
    expect(await runs()).toBe(runsBefore);
  });

  test('purges every log of one user whatever its age or state, except queued and processing, archived first', async () => {
    const { rows: [{ user_id: userId }] } = await stack.db.query<{ user_id: string }>(
      // Seeded ids are md5 digests: only some carry the RFC version and variant the input requires.
      // The last key breaks ties, so the pick does not hang on the plan (it changed when seeds began to analyze).
      `select user_id::text from public.export_logs
        where user_id::text ~ '^[0-9a-f]{8}-[0-9a-f]{4}-[1-8][0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$'
        group by user_id
        order by count(*) filter (where status in ('queued', 'processing')) desc, count(*) desc, user_id limit 1`,
    );
    const { rows } = await stack.db.query<{ id: string; status: string }>(
      'select id::text as id, status from public.export_logs where user_id = $1', [userId],
    );
    const purge = rows.filter((r) => !['queued', 'processing'].includes(r.status)).map((r) => r.id).sort();
    expect(rows.length - purge.length).toBeGreaterThan(0);
    const before = await snapshot(stack);

    const result = await runJob(createLogCleanupJob({ partRows: 7, pageRows: 3 }), await jobDepsFor(stack, 'log-cleanup'), { scheduledTime, userId });

    expect(result).toMatchObject({ deleted_count: purge.length, archived_count: purge.length, user_id: userId, more: false });
    await expectArchivedExactlyOnce(stack, before, purge);
    const after = await snapshot(stack);
    for (const r of rows.filter((x) => ['queued', 'processing'].includes(x.status))) expect(after.get(r.id)).toBe(before.get(r.id));
  });
});
