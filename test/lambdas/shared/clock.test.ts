import { z } from 'zod';
import { jobNow, MAX_CLOCK_SKEW_MS, tooFarAhead } from '../../../lambdas/shared/clock';
import { InputError, type JobDefinition, type JobResult, noPorts, parseJobInput, runJob, scheduledInput } from '../../../lambdas/shared/job';
import type { LocalStack } from '../../../local/stack';
import { jobDepsFor } from '../../support/jobs';
import { databaseMode, startTestStack } from '../../support/stack';

const MINUTE = 60_000;
const FAR_FUTURE = '9999-12-31T23:59:59Z';
const iso = (ms: number) => new Date(ms).toISOString();

type ProbeInput = z.infer<typeof probeInput>;
const probeInput = scheduledInput.extend({}).strict();

/** A job that only counts its runs: what runJob wraps around every real one. */
let ran = 0;
const probeJob: JobDefinition<ProbeInput, JobResult> = {
  name: 'file-cleanup',
  input: probeInput,
  ports: noPorts,
  failureMetric: 'CleanupFailures',
  isDryRun: () => false,
  scheduledTime: jobNow,
  async run() {
    ran++;
    return {};
  },
  recordMetrics() {},
};

describe('the time bound of a job input', () => {
  test('the allowed skew is a few minutes', () => {
    expect(MAX_CLOCK_SKEW_MS).toBe(5 * MINUTE);
  });

  test('names the field, the value, the clock and the allowed skew; past and near times pass', () => {
    const clock = Date.parse('2026-11-30T12:00:00Z');
    expect(tooFarAhead('scheduledTime', FAR_FUTURE, clock)).toBe(
      `scheduledTime ${FAR_FUTURE} is ahead of this machine's clock (2026-11-30T12:00:00.000Z) by more than the allowed skew of 5 minutes; `
        + 'a future time would treat data that is not yet due as due, so nothing was run or recorded (a past time is accepted)',
    );
    expect(tooFarAhead('scheduledTime', iso(clock + MAX_CLOCK_SKEW_MS + 1000), clock)).toMatch(/allowed skew/);
    expect(tooFarAhead('scheduledTime', iso(clock + MAX_CLOCK_SKEW_MS), clock)).toBeUndefined();
    expect(tooFarAhead('scheduledTime', iso(clock + MINUTE), clock)).toBeUndefined();
    expect(tooFarAhead('scheduledTime', '2001-01-01T00:00:00Z', clock)).toBeUndefined();
  });

  test('parseJobInput refuses a scheduledTime too far ahead, with the offset form too', () => {
    expect(() => parseJobInput(probeJob, { scheduledTime: FAR_FUTURE })).toThrow(InputError);
    expect(() => parseJobInput(probeJob, { scheduledTime: FAR_FUTURE }))
      .toThrow(/^invalid file-cleanup input: scheduledTime: scheduledTime 9999-12-31T23:59:59Z is ahead of this machine's clock \(\d{4}-.*Z\) by more than the allowed skew of 5 minutes/);
    const inAnHour = new Date(Date.now() + 60 * MINUTE).toISOString().replace('Z', '+00:00');
    expect(() => parseJobInput(probeJob, { scheduledTime: inAnHour })).toThrow(/allowed skew of 5 minutes/);
    expect(parseJobInput(probeJob, { scheduledTime: iso(Date.now() + MINUTE) })).toBeDefined();
    expect(parseJobInput(probeJob, { scheduledTime: '2020-01-01T00:00:00Z' })).toEqual({ scheduledTime: '2020-01-01T00:00:00Z' });
  });

  test('jobNow is the scheduled time when given, else the clock', () => {
    expect(jobNow({ scheduledTime: '2026-11-29T02:00:00Z' })).toEqual(new Date('2026-11-29T02:00:00Z'));
    const before = Date.now();
    const now = jobNow({}).getTime();
    expect(now).toBeGreaterThanOrEqual(before);
    expect(now).toBeLessThanOrEqual(Date.now());
  });
});

describe(`runJob and a time too far ahead on ${databaseMode}`, () => {
  let stack: LocalStack;
  beforeAll(async () => {
    stack = await startTestStack();
  });
  afterAll(() => stack.stop());
  const runs = async () => (await stack.db.query<{ scheduled_time: Date }>(
    `select scheduled_time from export_ops.runs order by started_at`)).rows.map((r) => r.scheduled_time.toISOString());

  test('refuses it before the run is recorded, even when the caller skipped parseJobInput', async () => {
    const before = await runs();
    ran = 0;
    const refusal = runJob(probeJob, await jobDepsFor(stack, 'file-cleanup'), { scheduledTime: FAR_FUTURE });
    await expect(refusal).rejects.toThrow(InputError);
    await expect(refusal).rejects.toThrow(/scheduledTime 9999-12-31T23:59:59Z is ahead of this machine's clock .* allowed skew of 5 minutes/);
    expect(ran).toBe(0);
    expect(await runs()).toEqual(before);
  });

  test('accepts a time one minute ahead and a past time, each recorded as the run\'s scheduled time', async () => {
    const ahead = iso(Math.floor(Date.now() / 1000) * 1000 + MINUTE);
    const past = '2026-01-15T10:00:00.000Z';
    ran = 0;
    await runJob(probeJob, await jobDepsFor(stack, 'file-cleanup'), { scheduledTime: ahead });
    await runJob(probeJob, await jobDepsFor(stack, 'file-cleanup'), { scheduledTime: past });
    expect(ran).toBe(2);
    expect((await runs()).slice(-2)).toEqual([ahead, past]);
  });
});
