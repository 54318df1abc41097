/**
 * The metrics job's logic over an in-memory fake of its port (no local stack): which windows it
 * claims, writes and records, what it leaves to other runs, and what a failure leaves behind.
 * The EMF is Powertools' real output on stdout. The fake is held to the SQL by
 * ports.contract.test.ts.
 */
import { DOCUMENTS_PER_WINDOW } from '../../../lambdas/metrics-aggregate/emf';
import { MARK_ATTEMPTS, metricsAggregateJob, WINDOW_TIME_BUDGET_MS } from '../../../lambdas/metrics-aggregate/job';
import { WATCHED_JOBS } from '../../../lambdas/metrics-aggregate/staleness';
import { HOUR_MS } from '../../../lambdas/metrics-aggregate/windows';
import { runJob } from '../../../lambdas/shared/job';
import { captureStdout, type EmfDocument } from '../../support/output';
import { FakeClock, fakeJobDeps } from '../shared/fakes';
import { FakeWindowStore } from './fakes';

const USER = '00000000-0000-0000-0000-0000000000a1';

function world(remainingMs?: () => number) {
  // The job's "now" may not be ahead of the machine's clock (MAX_CLOCK_SKEW_MS).
  const clock = new FakeClock(Date.now());
  const hour = Math.floor(clock.nowMs() / HOUR_MS) * HOUR_MS;
  const windows = new FakeWindowStore(clock);
  const deps = { ...fakeJobDeps({}, { clock, remainingMs }), windows };
  /** Three closed hours, 5 to 2 hours back. */
  const range = { from: new Date(hour - 5 * HOUR_MS), to: new Date(hour - 2 * HOUR_MS) };
  const input = { scheduledTime: clock.now().toISOString(), from: range.from.toISOString(), to: range.to.toISOString() };
  const run = async (extra: { dryRun?: boolean } = {}) => {
    const out = captureStdout();
    try {
      const result = await runJob(metricsAggregateJob, deps, { ...input, ...extra });
      return { result, emf: out.emf() };
    } finally {
      out.restore();
    }
  };
  for (let h = 0; h < 3; h++) {
    windows.exports.push({ finishedAt: range.from.getTime() + h * HOUR_MS + 60_000, status: 'completed', format: 'json', userId: USER });
  }
  return { clock, windows, deps, range, run };
}

/** The hour starts the export documents (not the staleness ones) were written for. */
const windowDocs = (emf: EmfDocument[]) => emf.filter((d) => 'ExportsTotal' in d);
const emittedHours = (emf: EmfDocument[]) =>
  [...new Set(windowDocs(emf).map((d) => new Date(d._aws.Timestamp).toISOString()))].sort();

describe('metrics job logic (fake window store)', () => {
  test('each closed hour is written once, stamped with its start, and recorded; a rerun writes nothing', async () => {
    const w = world();
    const first = await w.run();
    const hours = [0, 1, 2].map((h) => new Date(w.range.from.getTime() + h * HOUR_MS).toISOString());
    expect(first.result).toMatchObject({ windows_pending: 3, windows_emitted: 3, windows_skipped: 0, windows_claim_lost: 0, more: false });
    expect(emittedHours(first.emf)).toEqual(hours);
    expect(windowDocs(first.emf)).toHaveLength(3 * DOCUMENTS_PER_WINDOW);
    expect([...w.windows.records.values()].every((r) => r.emittedAt !== undefined && r.documents === DOCUMENTS_PER_WINDOW)).toBe(true);
    const second = await w.run();
    expect(second.result).toMatchObject({ windows_pending: 0, windows_emitted: 0 });
    expect(windowDocs(second.emf)).toEqual([]);
  });

  test('an hour another live run holds is left to it, and taken once its lease has run out', async () => {
    const w = world();
    const held = w.range.from;
    w.windows.records.set(held.getTime(), { runId: 'other-run', claimedAt: w.clock.nowMs() });
    const first = await w.run();
    expect(first.result).toMatchObject({ windows_pending: 3, windows_emitted: 2, windows_skipped: 1 });
    expect(emittedHours(first.emf)).not.toContain(held.toISOString());
    w.clock.advance(w.deps.config.metricsWindowLeaseSeconds * 1000 + 1);
    const second = await w.run();
    expect(second.result).toMatchObject({ windows_emitted: 1 });
    expect(emittedHours(second.emf)).toEqual([held.toISOString()]);
  });

  test('with less time left than a window needs, it claims nothing and says there is more', async () => {
    const w = world(() => WINDOW_TIME_BUDGET_MS - 1);
    const { result, emf } = await w.run();
    expect(result).toMatchObject({ windows_pending: 3, windows_emitted: 0, more: true });
    expect(windowDocs(emf)).toEqual([]);
    expect(w.windows.records.size).toBe(0);
  });

  test('a failed record is retried: the hour is written once and recorded', async () => {
    const w = world();
    w.windows.failMarks = MARK_ATTEMPTS - 1;
    const { result, emf } = await w.run();
    expect(result).toMatchObject({ windows_emitted: 3 });
    expect(windowDocs(emf)).toHaveLength(3 * DOCUMENTS_PER_WINDOW);
  });

  test('when recording fails every attempt the run fails, keeps the claim (its documents were written), and a later run writes the hour again', async () => {
    const w = world();
    w.windows.failMarks = MARK_ATTEMPTS;
    const out = captureStdout();
    try {
      await expect(runJob(metricsAggregateJob, w.deps, {
        scheduledTime: w.clock.now().toISOString(), from: w.range.from.toISOString(), to: w.range.to.toISOString(),
      })).rejects.toThrow(/mark_emitted failed/);
    } finally {
      out.restore();
    }
    const first = w.range.from.getTime();
    expect(emittedHours(out.emf())).toEqual([new Date(first).toISOString()]);
    const failedRun = w.deps.runs.last();
    expect(failedRun).toMatchObject({ status: 'failed' });
    expect(w.windows.records.get(first)).toMatchObject({ runId: failedRun.id });
    expect(w.windows.records.get(first)?.emittedAt).toBeUndefined();
    // Within the lease nobody writes it again; after it, the hour is written a second time
    // (the documented at-least-once case, which the alarms' Maximum statistic absorbs).
    expect(emittedHours((await w.run()).emf)).not.toContain(new Date(first).toISOString());
    w.clock.advance(w.deps.config.metricsWindowLeaseSeconds * 1000 + 1);
    expect(emittedHours((await w.run()).emf)).toEqual([new Date(first).toISOString()]);
  });

  test('a window whose claim was taken over meanwhile is counted as lost, not recorded by this run', async () => {
    const w = world();
    const markEmitted = w.windows.markEmitted.bind(w.windows);
    w.windows.markEmitted = async (window, runId, documents, summary) => {
      w.windows.records.get(window.start.getTime())!.runId = 'thief';
      return markEmitted(window, runId, documents, summary);
    };
    const { result } = await w.run();
    expect(result).toMatchObject({ windows_emitted: 3, windows_claim_lost: 3 });
  });

  test('a dry run aggregates the hours and writes and claims nothing', async () => {
    const w = world();
    const { result, emf } = await w.run({ dryRun: true });
    expect(result).toMatchObject({ dry_run: true, windows_pending: 3, windows_emitted: 3, documents: 0 });
    expect(result.windows.map((x) => x.total)).toEqual([1, 1, 1]);
    expect(windowDocs(emf)).toEqual([]);
    expect(w.windows.records.size).toBe(0);
  });

  test('reports each watched job\'s age since its last success, and none for a job that never ran', async () => {
    const w = world();
    const lastRun = new Date(w.clock.nowMs() - 26 * HOUR_MS);
    w.windows.lastSuccessTimes['file-cleanup'] = lastRun.toISOString();
    const { result, emf } = await w.run();
    const ages = emf.filter((d) => 'SecondsSinceLastSuccess' in d);
    expect(ages.map((d) => [d.Job, d.SecondsSinceLastSuccess])).toEqual([['file-cleanup', 26 * 3600]]);
    expect(Object.keys(result.last_success ?? {}).sort()).toEqual([...WATCHED_JOBS].sort());
  });
});
