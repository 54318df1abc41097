import { metricsAggregateJob, type MetricsResult } from '../../../lambdas/metrics-aggregate/job';
import { runJob } from '../../../lambdas/shared/job';
import type { LocalStack } from '../../../local/stack';
import { databaseMode, startTestStack } from '../../support/stack';
import { floorHour, HOUR, metricsDeps, seedHistory } from './support';
import { captureStdout } from '../../support/output';

/**
 * Each window is emitted once: across reruns, overlapping runs, failures between claim and
 * record, and a claim left by a run that died. Windows are counted by the EMF documents that
 * reach stdout (5 per window) and by export_ops.metric_windows.
 */
describe(`metrics windows are emitted once (${databaseMode})`, () => {
  let stack: LocalStack;
  const end = floorHour(Date.now()) - 2 * HOUR;
  const iso = (ms: number) => new Date(ms).toISOString();

  beforeAll(async () => {
    stack = await startTestStack();
    await seedHistory(stack, end, 600);
  });
  afterAll(() => stack.stop());
  afterEach(() => stack.supabase.faults.clear());

  /** Runs the job with its own ports (as separate invocations have), counting window documents per hour. */
  async function run(input: Record<string, unknown>) {
    const out = captureStdout();
    try {
      const result = await runJob(metricsAggregateJob, await metricsDeps(stack), metricsAggregateJob.input.parse(input));
      return { result, hours: exportDocHours(out.emf()) };
    } finally {
      out.restore();
    }
  }
  const range = (from: number, to: number) => ({ from: iso(from), to: iso(to) });

  it('emits a range once; a rerun emits nothing', async () => {
    const first = await run(range(end - 12 * HOUR, end - 10 * HOUR));
    expect(first.hours).toEqual({ [end - 12 * HOUR]: 5, [end - 11 * HOUR]: 5 });
    const second = await run(range(end - 12 * HOUR, end - 10 * HOUR));
    expect(second.hours).toEqual({});
    expect(second.result).toMatchObject({ windows_pending: 0, windows_emitted: 0, documents: 0 });
    const { rows } = await stack.db.query<{ n: number }>(
      `select count(*)::int as n from export_ops.metric_windows where window_start >= $1 and window_start < $2 and emitted_at is not null and documents = 5`,
      [iso(end - 12 * HOUR), iso(end - 10 * HOUR)],
    );
    expect(rows[0].n).toBe(2);
  });

  it('two overlapping runs share the windows, each emitted by exactly one of them', async () => {
    const [a, b] = await Promise.all([run(range(end - 10 * HOUR, end - 4 * HOUR)), run(range(end - 10 * HOUR, end - 4 * HOUR))]);
    const merged: Record<string, number> = {};
    for (const hours of [a.hours, b.hours]) for (const [h, n] of Object.entries(hours)) merged[h] = (merged[h] ?? 0) + n;
    expect(merged).toEqual(Object.fromEntries([5, 6, 7, 8, 9, 10].map((k) => [end - k * HOUR, 5])));
    expect(a.result.windows_emitted + b.result.windows_emitted).toBe(6);
  });

  it('a claim left by a dead run is taken over after its lease; a live claim is left alone', async () => {
    const dead = end - 20 * HOUR;
    const live = end - 19 * HOUR;
    await stack.db.query(
      `insert into export_ops.metric_windows (window_start, window_end, claimed_at)
       values ($1, $1::timestamptz + interval '1 hour', now() - interval '1 hour'), ($2, $2::timestamptz + interval '1 hour', now())`,
      [iso(dead), iso(live)],
    );
    const { hours, result } = await run(range(dead, live + HOUR));
    expect(hours).toEqual({ [dead]: 5 });
    expect(result).toMatchObject({ windows_pending: 2, windows_emitted: 1, windows_skipped: 1 });
  });

  it('a failed claim loses nothing: the next run emits what is left, once', async () => {
    stack.supabase.faults.add({ method: 'POST', path: '/rest/v1/rpc/export_ops_metrics_claim_window', nth: 2, fault: { status: 500 } });
    await expect(run(range(end - 30 * HOUR, end - 27 * HOUR))).rejects.toThrow(/export_ops_metrics_claim_window failed/);
    const retry = await run(range(end - 30 * HOUR, end - 27 * HOUR));
    expect(retry.hours).toEqual({ [end - 29 * HOUR]: 5, [end - 28 * HOUR]: 5 });
  });

  it('a lost answer to the record call is retried, and the window still counts once', async () => {
    stack.supabase.faults.add({ method: 'POST', path: '/rest/v1/rpc/export_ops_metrics_mark_emitted', when: 'after', fault: { status: 503 } });
    const first = await run(range(end - 35 * HOUR, end - 34 * HOUR));
    expect(first.hours).toEqual({ [end - 35 * HOUR]: 5 });
    expect(first.result).toMatchObject({ windows_emitted: 1, windows_claim_lost: 0 });
    expect((await run(range(end - 35 * HOUR, end - 34 * HOUR))).hours).toEqual({});
  });

  it('a window written but never recorded stays held by its claim, not emitted again by the next run', async () => {
    stack.supabase.faults.add({ method: 'POST', path: '/rest/v1/rpc/export_ops_metrics_mark_emitted', times: 3, fault: { status: 503 } });
    const failed = run(range(end - 40 * HOUR, end - 39 * HOUR));
    await expect(failed).rejects.toThrow(/export_ops_metrics_mark_emitted failed/);
    const next = await run(range(end - 40 * HOUR, end - 39 * HOUR));
    expect(next.hours).toEqual({});
    expect(next.result).toMatchObject({ windows_pending: 1, windows_skipped: 1 });
  });

  // Last: it marks every older hour emitted.
  it('a scheduled run backfills the hours missed while it was down, then nothing', async () => {
    // Earlier hours as previous runs left them (emitted), so the run's 14-day look-back has
    // only the gap left: end-4h .. the last hour closed 15 min before scheduledTime.
    await stack.db.query(
      `insert into export_ops.metric_windows (window_start, window_end, emitted_at)
       select h, h + interval '1 hour', now() from generate_series($1::timestamptz - interval '15 days', $2::timestamptz, interval '1 hour') h
       on conflict (window_start) do nothing`,
      [iso(end), iso(end - 13 * HOUR)],
    );
    const down = await run({ scheduledTime: iso(end + 10 * 60_000) }); // 10 min past the hour: end-1h..end is within the lag
    expect(Object.keys(down.hours).map(Number)).toEqual([end - 4 * HOUR, end - 3 * HOUR, end - 2 * HOUR]);
    const later = await run({ scheduledTime: iso(end + HOUR + 20 * 60_000) });
    expect(Object.keys(later.hours).map(Number)).toEqual([end - HOUR, end]);
    expect((await run({ scheduledTime: iso(end + HOUR + 20 * 60_000) })).hours).toEqual({});
  });
});

/** Hours (epoch ms) → number of export documents (all-formats + per format) written for them. */
function exportDocHours(docs: { _aws: { Timestamp: number }; [k: string]: unknown }[]): Record<number, number> {
  const hours: Record<number, number> = {};
  for (const doc of docs.filter((d) => 'ExportsTotal' in d)) hours[doc._aws.Timestamp] = (hours[doc._aws.Timestamp] ?? 0) + 1;
  return hours;
}

export type { MetricsResult };
