import { emitStaleness } from '../../../lambdas/metrics-aggregate/staleness';
import type { LocalStack } from '../../../local/stack';
import { databaseMode, startTestStack } from '../../support/stack';
import { metricsDeps } from './support';
import { captureStdout } from '../../support/output';

/** The monthly job's heartbeat: the age of each watched job's last completed real run. */
describe(`SecondsSinceLastSuccess (${databaseMode})`, () => {
  let stack: LocalStack;
  beforeAll(async () => {
    stack = await startTestStack();
  });
  afterAll(() => stack.stop());

  const HOUR = 3_600_000;
  const at = (ms: number) => new Date(ms).toISOString();
  const addRun = (job: string, status: string, startedMs: number, finishedMs: number | null, dryRun = false) =>
    stack.db.query(`insert into export_ops.runs (job, status, dry_run, started_at, finished_at) values ($1, $2, $3, $4, $5)`,
      [job, status, dryRun, at(startedMs), finishedMs === null ? null : at(finishedMs)]);

  async function ages(now: number) {
    const out = captureStdout();
    let last;
    try {
      last = await emitStaleness(await metricsDeps(stack), new Date(now));
    } finally {
      out.restore();
    }
    const docs = out.emf().filter((d) => 'SecondsSinceLastSuccess' in d);
    return { last, seconds: Object.fromEntries(docs.map((d) => [d.Job, d.SecondsSinceLastSuccess])) };
  }

  it('counts from the last succeeded or partial real run; failed and dry runs do not count', async () => {
    const t0 = Date.UTC(2026, 9, 1, 3);
    await addRun('metrics-aggregate', 'succeeded', t0 - 100 * HOUR, t0 - 100 * HOUR); // the first run export-ops recorded
    await addRun('log-cleanup', 'succeeded', t0, t0 + HOUR);
    await addRun('log-cleanup', 'partial', t0 + 24 * HOUR, t0 + 25 * HOUR);
    await addRun('log-cleanup', 'failed', t0 + 48 * HOUR, t0 + 49 * HOUR);
    await addRun('log-cleanup', 'succeeded', t0 + 50 * HOUR, t0 + 51 * HOUR, true);
    await addRun('log-cleanup', 'running', t0 + 60 * HOUR, null);
    const { seconds, last } = await ages(t0 + 35 * HOUR);
    expect(seconds['log-cleanup']).toBe(10 * 3600);
    // Never completed: counted from the first run export-ops recorded.
    expect(seconds['file-cleanup']).toBe(135 * 3600);
    expect(Object.keys(seconds).sort()).toEqual(['file-cleanup', 'log-cleanup']);
    expect(new Date(last!['log-cleanup']!).getTime()).toBe(t0 + 25 * HOUR);
  });
});
