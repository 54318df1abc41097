import { handler } from '../../../lambdas/metrics-aggregate/handler';
import { InputError } from '../../../lambdas/shared/job';
import type { LocalStack } from '../../../local/stack';
import { databaseMode, startTestStack } from '../../support/stack';
import { floorHour, HOUR } from './support';
import { captureStdout } from '../../support/output';

/**
 * The Lambda handler refuses bad input with an error naming what is wrong, before anything is
 * done: no run recorded, no window claimed, no EMF written.
 */
describe(`metrics handler input (${databaseMode})`, () => {
  let stack: LocalStack;
  const savedEnv = { ...process.env };
  const closed = floorHour(Date.now()) - 2 * HOUR;
  const iso = (ms: number) => new Date(ms).toISOString();
  const FAR_FUTURE = '9999-12-31T23:59:59Z';

  beforeAll(async () => {
    stack = await startTestStack();
    Object.assign(process.env, stack.env);
  });
  afterAll(async () => {
    process.env = savedEnv;
    await stack.stop();
  });

  const counts = async () => (await stack.db.query<{ runs: number; windows: number }>(
    `select (select count(*)::int from export_ops.runs) as runs, (select count(*)::int from export_ops.metric_windows) as windows`,
  )).rows[0];

  it.each([
    ['end before start', { from: iso(closed - HOUR), to: iso(closed - 3 * HOUR) }, /to \(.*\) must be after from/],
    ['older than CloudWatch accepts', { from: iso(closed - 15 * 24 * HOUR), to: iso(closed - 14 * 24 * HOUR) }, /older than CloudWatch accepts/],
    ['an hour not closed yet', { from: iso(closed), to: iso(closed + 4 * HOUR) }, /beyond the last closed window/],
    ['not a whole hour', { from: iso(closed - 2 * HOUR + 60_000), to: iso(closed) }, /from must be a whole UTC hour/],
    ['from without to', { from: iso(closed - 2 * HOUR) }, /to is required with from/],
    ['an unknown field', { scheduledTime: iso(closed), windowHours: 2 }, /windowHours/],
    ['a wrong type', { dryRun: 'yes' }, /dryRun/],
    ['a date that is not ISO 8601', { from: 'yesterday', to: iso(closed) }, /from: from must be an ISO 8601 date-time/],
    ['a report request (reports are `npx export-ops report`, not this job)', { report: 'failure-rate' }, /report/],
    // Issue 9: a time input far ahead of the clock is a typo, refused whatever the job would do with it.
    ['a scheduledTime far ahead of the clock', { scheduledTime: FAR_FUTURE },
      /scheduledTime: scheduledTime 9999-12-31T23:59:59Z is ahead of this machine's clock \(\d{4}-[\d-]+T[\d:.]+Z\) by more than the allowed skew of 5 minutes/],
    ['a backfill ending far ahead', { from: iso(closed), to: '9999-12-31T23:00:00Z' },
      /to: to 9999-12-31T23:00:00Z is ahead of this machine's clock .* allowed skew of 5 minutes/],
    ['a backfill starting far ahead', { from: '9999-12-31T22:00:00Z', to: '9999-12-31T23:00:00Z' }, /from: from 9999-12-31T22:00:00Z is ahead of this machine's clock/],
  ])('refuses %s, doing nothing', async (_name, event, message) => {
    const before = await counts();
    const out = captureStdout();
    try {
      const refusal = handler(event);
      await expect(refusal).rejects.toThrow(InputError);
      await expect(refusal).rejects.toThrow(message);
    } finally {
      out.restore();
    }
    expect(out.emf()).toEqual([]);
    expect(await counts()).toEqual(before);
  });

  it('accepts the schedule event and a dry run, which claims and writes nothing', async () => {
    const out = captureStdout();
    let result;
    try {
      result = await handler({ scheduledTime: iso(closed), dryRun: true });
    } finally {
      out.restore();
    }
    expect(result.dry_run).toBe(true);
    expect(result.windows_emitted).toBeGreaterThan(300); // the 14-day look-back, hour by hour
    expect(out.emf().filter((d) => 'ExportsTotal' in d)).toEqual([]);
    expect((await counts()).windows).toBe(0);
  });

  it('accepts a scheduledTime one minute ahead of the clock', async () => {
    const out = captureStdout();
    let result;
    try {
      result = await handler({ scheduledTime: iso(Date.now() + 60_000), dryRun: true });
    } finally {
      out.restore();
    }
    expect(result.dry_run).toBe(true);
    expect((await counts()).windows).toBe(0);
  });
});
