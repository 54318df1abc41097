import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { main as runCli } from '../../../cli/run';
import type { LocalStack } from '../../../local/stack';
import { databaseMode, startTestStack } from '../../support/stack';
import { emfProblems, expectedStats, fetchRows, floorHour, HOUR, rowsInWindow, seedHistory } from './support';
import { captureStdout, type EmfDocument } from '../../support/output';

/**
 * `export-ops run metrics-aggregate --metrics-file F` over a backfill range: the EMF lines it
 * writes, parsed from F and checked against the EMF specification and against numbers computed
 * here from the rows; stdout holds the result alone.
 */
describe(`metrics EMF output of run metrics-aggregate (${databaseMode})`, () => {
  let stack: LocalStack;
  const savedEnv = { ...process.env };
  const end = floorHour(Date.now()) - 2 * HOUR;
  // Two empty hours before the history starts (end - 12 h), then two with exports.
  const from = end - 14 * HOUR;
  const to = end - 10 * HOUR;

  beforeAll(async () => {
    stack = await startTestStack();
    await seedHistory(stack, end);
    Object.assign(process.env, stack.env, { POWERTOOLS_METRICS_NAMESPACE: 'ExportOpsTest' });
  });
  afterAll(async () => {
    process.env = savedEnv;
    await stack.stop();
  });

  it('writes one spec-valid EMF document per window and format, with the window start as timestamp', async () => {
    const file = join(mkdtempSync(join(tmpdir(), 'export-ops-emf-')), 'emf.ndjson');
    const out = captureStdout();
    let code: number;
    try {
      code = await runCli(['metrics-aggregate', '--from', new Date(from).toISOString(), '--to', new Date(to).toISOString(), '--json', '--metrics-file', file]);
    } finally {
      out.restore();
    }
    expect(code).toBe(0);
    expect(out.emf()).toEqual([]);
    const docs = readFileSync(file, 'utf8').split('\n').filter(Boolean).map((line) => JSON.parse(line) as EmfDocument);
    const exportDocs = docs.filter((d) => 'ExportsTotal' in d);
    const jobDocs = docs.filter((d) => !('ExportsTotal' in d) && d.Job === 'metrics-aggregate');
    // Plus one age document per watched job, with that job's name (the monthly job's heartbeat).
    const ages = docs.filter((d) => 'SecondsSinceLastSuccess' in d);
    expect(ages.map((d) => [d.Job, d._aws.CloudWatchMetrics[0].Dimensions, d._aws.CloudWatchMetrics[0].Metrics])).toEqual(['file-cleanup', 'log-cleanup'].map((job) =>
      [job, [['Job']], [{ Name: 'SecondsSinceLastSuccess', Unit: 'Seconds' }]]));
    expect(docs).toHaveLength(4 * 5 + 1 + 2);
    expect(exportDocs).toHaveLength(4 * 5);
    for (const doc of docs) expect(emfProblems(doc)).toEqual([]);

    // The job's own document keeps its Job dimension; export documents never carry it.
    expect(jobDocs.map((d) => d._aws.CloudWatchMetrics[0].Dimensions)).toEqual([[['Job']]]);
    const rows = await fetchRows(stack);
    for (let start = from; start < to; start += HOUR) {
      const windowDocs = exportDocs.filter((d) => d._aws.Timestamp === start);
      expect(windowDocs.map((d) => d._aws.CloudWatchMetrics[0].Dimensions)).toEqual([[[]], [['Format']], [['Format']], [['Format']], [['Format']]]);
      expect(windowDocs.map((d) => d.Format)).toEqual([undefined, 'json', 'jsonl', 'csv', 'markdown']);
      const inWindow = rowsInWindow(rows, start, start + HOUR);
      for (const doc of windowDocs) {
        expect(doc.Job).toBeUndefined();
        expect(doc._aws.CloudWatchMetrics[0].Namespace).toBe('ExportOpsTest');
        expect(doc.window_start).toBe(new Date(start).toISOString());
        expectDocument(doc, expectedStats(doc.Format ? inWindow.filter((r) => r.format === doc.Format) : inWindow));
      }
      if (inWindow.length === 0) {
        // An empty hour: zero counts, nothing else, so alarms see a datapoint.
        expect(windowDocs[0]._aws.CloudWatchMetrics[0].Metrics.map((m) => m.Name)).toEqual(['ExportsTotal', 'ExportsSucceeded', 'ExportsFailed']);
      }
    }
    expect(rowsInWindow(rows, to - HOUR, to).length).toBeGreaterThan(50);
    // The all-formats document carries the facts that are not dimensions as metadata.
    const busy = exportDocs.find((d) => d._aws.Timestamp === to - HOUR && d.Format === undefined) as EmfDocument;
    expect(busy.distinct_users).toEqual(expect.any(Number));
    expect(Array.isArray(busy.top_users)).toBe(true);
    expect(busy.by_count_range).toEqual(expect.any(Object));

    // stdout is the result alone.
    expect(out.lines()).toHaveLength(1);
    const result = JSON.parse(out.lines()[0]);
    expect(result).toMatchObject({ windows_pending: 4, windows_emitted: 4, documents: 20, windows_skipped: 0 });
  });
});

function expectDocument(doc: EmfDocument, expected: ReturnType<typeof expectedStats>) {
  const units = Object.fromEntries(doc._aws.CloudWatchMetrics[0].Metrics.map((m) => [m.Name, m.Unit]));
  const want: Record<string, [string, number | null]> = {
    ExportsTotal: ['Count', expected.total],
    ExportsSucceeded: ['Count', expected.succeeded],
    ExportsFailed: ['Count', expected.failed],
    FailureRate: ['Percent', expected.failure_rate === null ? null : expected.failure_rate * 100],
    ExportDurationAvg: ['Milliseconds', expected.duration_ms.avg],
    ExportDurationP95: ['Milliseconds', expected.duration_ms.p95],
    ExportDurationMax: ['Milliseconds', expected.duration_ms.max],
    ExportFileSizeAvg: ['Bytes', expected.file_size_bytes.avg],
    ExportFileSizeMax: ['Bytes', expected.file_size_bytes.max],
  };
  for (const [name, [unit, value]] of Object.entries(want)) {
    if (value === null) {
      expect(units[name]).toBeUndefined();
      continue;
    }
    expect(units[name]).toBe(unit);
    expect(doc[name]).toBeCloseTo(value, 6);
  }
}
