import { MetricUnit } from '@aws-lambda-powertools/metrics';
import { z } from 'zod';
import { type JobDefinition, type JobResult, noPorts, parseJobInput, runJob, scheduledInput } from '../../../lambdas/shared/job';
import type { LocalStack } from '../../../local/stack';
import { jobDepsFor } from '../../support/jobs';
import { captureStdout } from '../../support/output';
import { databaseMode, startTestStack } from '../../support/stack';

type ProbeInput = z.infer<typeof probeInput>;
const probeInput = scheduledInput.extend({ fail: z.boolean().optional(), dryRun: z.boolean().optional() }).strict();

/** A minimal job: what runJob wraps around every real one. */
const probeJob: JobDefinition<ProbeInput, JobResult & { done: number }> = {
  name: 'file-cleanup',
  input: probeInput,
  ports: noPorts,
  failureMetric: 'CleanupFailures',
  isDryRun: (input) => input.dryRun === true,
  scheduledTime: (input) => new Date(input.scheduledTime ?? Date.now()),
  async run(_deps, input) {
    if (input.fail) throw new Error('probe broke');
    return { done: 1, dry_run: input.dryRun === true };
  },
  recordMetrics(metrics, result) {
    metrics.addMetric('FilesDeleted', MetricUnit.Count, result.done);
  },
};

describe(`runJob on ${databaseMode}`, () => {
  let stack: LocalStack;
  beforeAll(async () => {
    stack = await startTestStack();
  });
  afterAll(() => stack.stop());
  const lastRun = async () =>
    (await stack.db.query<{ status: string; dry_run: boolean; error: string | null; result: { done?: number } | null }>(
      `select status, dry_run, error, result from export_ops.runs order by started_at desc limit 1`)).rows[0];
  const emf = (lines: string[]) => lines.filter((l) => l.includes('"_aws"')).map((l) => JSON.parse(l));

  test('records a finished run with its result and publishes the job metrics once', async () => {
    const { value, lines } = await captureStdout(async () => runJob(probeJob, await jobDepsFor(stack, 'file-cleanup'), { scheduledTime: '2026-11-29T02:00:00Z' }));
    expect(value).toMatchObject({ done: 1, duration_ms: expect.any(Number), timestamp: expect.any(String) });
    expect(await lastRun()).toMatchObject({ status: 'succeeded', dry_run: false, error: null, result: { done: 1 } });
    expect(emf(lines)).toEqual([expect.objectContaining({ Job: 'file-cleanup', FilesDeleted: 1, JobDurationMs: expect.any(Number) })]);
  });

  test('a dry run is recorded as such and publishes no job metrics but its duration', async () => {
    const { lines } = await captureStdout(async () => runJob(probeJob, await jobDepsFor(stack, 'file-cleanup'), { dryRun: true }));
    expect((await lastRun()).dry_run).toBe(true);
    expect(emf(lines)[0]).not.toHaveProperty('FilesDeleted');
  });

  test('a run that throws is recorded as failed, counts the failure metric, and rethrows', async () => {
    const { lines } = await captureStdout(async () => {
      await expect(runJob(probeJob, await jobDepsFor(stack, 'file-cleanup'), { fail: true })).rejects.toThrow('probe broke');
    });
    expect(await lastRun()).toMatchObject({ status: 'failed', error: 'probe broke' });
    expect(emf(lines)).toEqual([expect.objectContaining({ CleanupFailures: 1 })]);
  });

  test('starting a run closes runs of the job that never finished', async () => {
    await stack.db.query(`insert into export_ops.runs (job, started_at) values ('file-cleanup', now() - interval '2 hours')`);
    await runJob(probeJob, await jobDepsFor(stack, 'file-cleanup'), {});
    const { rows } = await stack.db.query(`select status, error from export_ops.runs where status = 'running'`);
    expect(rows).toEqual([]);
  });

  test('input is checked before anything runs', () => {
    expect(() => parseJobInput(probeJob, { fail: 'yes', other: 1 })).toThrow(/invalid file-cleanup input: .*fail.*other|invalid file-cleanup input: .*other.*fail/);
  });
});
