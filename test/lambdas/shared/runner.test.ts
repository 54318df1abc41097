/**
 * runJob over fakes of the shared ports (no local stack): what it records, when it advances the
 * backfill, what it emits. test/lambdas/shared/job.test.ts runs the same runner on the local stack.
 */
import { z } from 'zod';
import { BACKFILL_BATCH_ROWS } from '../../../lambdas/shared/backfill';
import { type JobDefinition, type JobResult, noPorts, runJob, scheduledInput } from '../../../lambdas/shared/job';
import { FakeClock, fakeJobDeps } from '../shared/fakes';

const probeInput = scheduledInput.extend({ fail: z.boolean().optional(), dryRun: z.boolean().optional(), more: z.boolean().optional() }).strict();
type ProbeInput = z.infer<typeof probeInput>;

function probe(clock: FakeClock, seen: string[]): JobDefinition<ProbeInput, JobResult & { done: number }> {
  return {
    name: 'log-cleanup',
    input: probeInput,
    ports: noPorts,
    failureMetric: 'LogCleanupFailures',
    isDryRun: (input) => input.dryRun === true,
    scheduledTime: (input) => new Date(input.scheduledTime ?? clock.now()),
    async run(_deps, input, runId) {
      seen.push(runId);
      clock.advance(1_234);
      if (input.fail) throw new Error('probe broke');
      return { done: 1, more: input.more === true };
    },
    recordMetrics(metrics, result) {
      metrics.addMetric('LogsDeleted', 'Count', result.done);
    },
  };
}

describe('runJob (fakes)', () => {
  const setup = () => {
    const clock = new FakeClock();
    const deps = fakeJobDeps({}, { clock });
    const seen: string[] = [];
    return { clock, deps, seen, job: probe(clock, seen) };
  };

  test('a run is recorded with its scheduled time, its result, its duration by the clock, and one metrics document', async () => {
    const { deps, seen, job, clock } = setup();
    const result = await runJob(job, deps, { scheduledTime: '2026-11-29T02:00:00Z' });
    expect(result).toEqual({ done: 1, more: false, duration_ms: 1_234, timestamp: clock.now().toISOString() });
    expect(deps.runs.runs).toEqual([{
      id: seen[0], job: 'log-cleanup', scheduledTime: new Date('2026-11-29T02:00:00Z'), dryRun: false, status: 'succeeded', result,
    }]);
    expect(deps.metrics.published).toEqual([{ LogsDeleted: 1, JobDurationMs: 1_234 }]);
  });

  test('a run with work left is recorded partial', async () => {
    const { deps, job } = setup();
    await runJob(job, deps, { more: true });
    expect(deps.runs.last().status).toBe('partial');
  });

  test('a real run advances the backfill first, batch by batch while time is left; a dry run does not, nor records job metrics', async () => {
    const { deps, job } = setup();
    deps.runs.backfillLeft = BACKFILL_BATCH_ROWS * 2 + 1;
    await runJob(job, deps, {});
    expect(deps.runs).toMatchObject({ backfillLeft: 0, backfillCalls: 3 });

    const dry = setup();
    dry.deps.runs.backfillLeft = 10;
    await runJob(dry.job, dry.deps, { dryRun: true });
    expect(dry.deps.runs).toMatchObject({ backfillLeft: 10, backfillCalls: 0 });
    expect(dry.deps.runs.last()).toMatchObject({ dryRun: true, status: 'succeeded' });
    expect(dry.deps.metrics.published).toEqual([{ JobDurationMs: 1_234 }]);
  });

  test('with no time left the backfill takes one batch only', async () => {
    const clock = new FakeClock();
    const deps = fakeJobDeps({}, { clock, remainingMs: () => 0 });
    deps.runs.backfillLeft = BACKFILL_BATCH_ROWS * 5;
    await runJob(probe(clock, []), deps, {});
    expect(deps.runs.backfillCalls).toBe(1);
  });

  test('a run that throws is recorded failed with the error, counts the failure metric, and rethrows even if the record fails', async () => {
    const { deps, job } = setup();
    await expect(runJob(job, deps, { fail: true })).rejects.toThrow('probe broke');
    expect(deps.runs.last()).toMatchObject({ status: 'failed', error: 'probe broke' });
    expect(deps.metrics.published).toEqual([{ LogCleanupFailures: 1 }]);

    deps.runs.finish = () => Promise.reject(new Error('database gone'));
    await expect(runJob(job, deps, { fail: true })).rejects.toThrow('probe broke');
  });

  test('a bad input records nothing', async () => {
    const { deps, job } = setup();
    await expect(runJob(job, deps, { fail: 'yes' } as unknown as ProbeInput)).rejects.toThrow(/invalid log-cleanup input/);
    expect(deps.runs.runs).toEqual([]);
  });
});
