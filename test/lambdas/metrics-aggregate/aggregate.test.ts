import { createClient } from '@supabase/supabase-js';
import { statsFor } from '../../../lambdas/metrics-aggregate/aggregate';
import type { OutcomeStats } from '../../../lambdas/metrics-aggregate/ports';
import type { MetricsDeps } from '../../../lambdas/metrics-aggregate/ports';
import { COUNT_RANGES, EXPORT_FORMATS } from '../../../lambdas/shared/export-logs';
import type { LocalStack } from '../../../local/stack';
import { databaseMode, startTestStack } from '../../support/stack';
import {
  countRangeOf, errorKind, expectedStats, fetchRows, floorHour, HOUR, metricsDeps, percentileCont, rowsInWindow, seedHistory, type FinishedRow,
} from './support';

/**
 * The SQL aggregate (export_ops_metrics_aggregate through supabase-js) against numbers computed
 * here from the raw rows, for every hour of a seeded history. Percentiles: percentile_cont.
 */
describe(`metrics aggregation in SQL (${databaseMode})`, () => {
  let stack: LocalStack;
  let deps: MetricsDeps;
  let rows: FinishedRow[];
  const end = floorHour(Date.now()) - 2 * HOUR;

  beforeAll(async () => {
    stack = await startTestStack();
    deps = await metricsDeps(stack);
    await seedHistory(stack, end);
    rows = await fetchRows(stack);
  });
  afterAll(() => stack.stop());

  const expectStats = (actual: OutcomeStats, expected: ReturnType<typeof expectedStats>) => {
    expect({ total: actual.total, succeeded: actual.succeeded, failed: actual.failed })
      .toEqual({ total: expected.total, succeeded: expected.succeeded, failed: expected.failed });
    const close = (a: number | null, e: number | null) => (e === null ? expect(a).toBeNull() : expect(a).toBeCloseTo(e, 6));
    close(actual.failure_rate, expected.failure_rate);
    for (const k of ['avg', 'p50', 'p95', 'max'] as const) close(actual.duration_ms[k], expected.duration_ms[k]);
    close(actual.file_size_bytes.avg, expected.file_size_bytes.avg);
    close(actual.file_size_bytes.max, expected.file_size_bytes.max);
  };

  it('gives exact totals, per-format, per-range, error kinds and users for each hour', async () => {
    let checkedRows = 0;
    for (let start = end - 12 * HOUR; start < end + HOUR; start += HOUR) {
      const inWindow = rowsInWindow(rows, start, start + HOUR);
      checkedRows += inWindow.length;
      const agg = await deps.windows.aggregateWindow({ start: new Date(start), end: new Date(start + HOUR) }, 5);

      expectStats(statsFor(agg), expectedStats(inWindow));
      for (const format of EXPORT_FORMATS) {
        expectStats(statsFor(agg, format), expectedStats(inWindow.filter((r) => r.format === format)));
      }
      for (const range of COUNT_RANGES) {
        const ranged = inWindow.filter((r) => countRangeOf(r.conversation_count) === range);
        const actual = agg.by_count_range[range];
        if (ranged.length === 0) {
          expect(actual).toBeUndefined();
          continue;
        }
        const e = expectedStats(ranged);
        expect(actual).toMatchObject({ total: e.total, succeeded: e.succeeded, failed: e.failed });
        expect(actual?.duration_ms.p95).toBeCloseTo(e.duration_ms.p95 as number, 6);
      }

      const kinds: Record<string, number> = {};
      for (const r of inWindow.filter((x) => x.status === 'failed')) kinds[errorKind(r.error_message)] = (kinds[errorKind(r.error_message)] ?? 0) + 1;
      expect(agg.error_kinds).toEqual(kinds);
      expect(agg.error_kinds_other).toBe(0);

      const perUser = new Map<string, number>();
      for (const r of inWindow) perUser.set(r.user_id, (perUser.get(r.user_id) ?? 0) + 1);
      expect(agg.distinct_users).toBe(perUser.size);
      const top = [...perUser].sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : 1)).slice(0, 5).map(([user_id, exports]) => ({ user_id, exports }));
      expect(agg.top_users).toEqual(top);
    }
    // The history really exercised the rule: rows in windows, failures, expired rows counted.
    expect(checkedRows).toBeGreaterThan(1000);
    expect(rows.some((r) => r.status === 'expired' && r.finished_us !== null)).toBe(true);
    expect(rows.some((r) => r.status === 'expired' && !r.duration_known)).toBe(true);
  });

  it('counts an expired row in the hour it finished, and rows without an outcome nowhere', async () => {
    const start = end - 3 * HOUR;
    const window = { start: new Date(start), end: new Date(start + HOUR) };
    const before = statsFor(await deps.windows.aggregateWindow(window));
    // A completed row expiring now keeps its finish hour and its success.
    const { rows: [row] } = await stack.db.query<{ id: string }>(
      `update public.export_logs set status = 'expired'
        where id = (select id from export_ops.exports where status = 'completed' and finished_at >= $1 and finished_at < $2 limit 1)
        returning id`,
      [window.start.toISOString(), window.end.toISOString()],
    );
    expect(row).toBeDefined();
    // Summation order may differ between plans: compare to 6 decimals.
    const rounded = (stats: OutcomeStats) => JSON.parse(JSON.stringify(stats, (_k, v) => (typeof v === 'number' ? Number(v.toFixed(6)) : v)));
    expect(rounded(statsFor(await deps.windows.aggregateWindow(window)))).toEqual(rounded(before));
    // A row still processing, requested in that hour, has no outcome: not counted.
    await stack.db.query(
      `insert into public.export_logs (export_id, user_id, "timestamp", format, config, conversation_count, status, created_at, updated_at)
       select gen_random_uuid(), user_id, $1, 'csv', '{}', 5, 'processing', $1, $1 from public.export_logs limit 1`,
      [new Date(start + 60_000).toISOString()],
    );
    expect(statsFor(await deps.windows.aggregateWindow(window)).total).toBe(before.total);
  });

  it("answers the same from the app's rows where export_ops.exports has no mirror of their metric columns (rows not written since the mirror was added)", async () => {
    const hours = [end - 8 * HOUR, end - 7 * HOUR, end - 6 * HOUR];
    const answers = async () => Promise.all(hours.map((s) => deps.windows.aggregateWindow({ start: new Date(s), end: new Date(s + HOUR) }, 5)));
    const mirrored = await answers();
    // Every other row of those hours loses its mirror, as a row tracked before 20261130000400 has none.
    const { rows: unmirrored } = await stack.db.query(
      `update export_ops.exports set metric_format = null, metric_file_size = null, metric_conversation_count = null, metric_error_kind = null
        where finished_at >= $1 and finished_at < $2 and ('x' || left(id::text, 1))::bit(4)::int % 2 = 0 returning id`,
      [new Date(hours[0]).toISOString(), new Date(hours[2] + HOUR).toISOString()],
    );
    expect(unmirrored.length).toBeGreaterThan(10);
    const rounded = (v: unknown) => JSON.parse(JSON.stringify(v, (_k, x) => (typeof x === 'number' ? Number(x.toFixed(6)) : x)));
    expect(rounded(await answers())).toEqual(rounded(mirrored));

    // An app write brings the mirror back, with what the app wrote: a failed row's new message is its new kind.
    const { rows: [changed] } = await stack.db.query<{ id: string }>(
      `update public.export_logs set error_message = 'QuotaError: too many exports'
        where id = (select x.id from export_ops.exports x where x.status = 'failed' and x.metric_format is null
                       and x.finished_at >= $1 and x.finished_at < $2 limit 1)
        returning id`,
      [new Date(hours[0]).toISOString(), new Date(hours[0] + HOUR).toISOString()],
    );
    expect(changed).toBeDefined();
    const { rows: [mirror] } = await stack.db.query<{ error_kind: string; format: string | null }>(
      'select metric_error_kind as error_kind, metric_format as format from export_ops.exports where id = $1', [changed.id]);
    expect(mirror.format).not.toBeNull();
    expect(mirror.error_kind).toBe('QuotaError');
    const after = await deps.windows.aggregateWindow({ start: new Date(hours[0]), end: new Date(hours[0] + HOUR) }, 5);
    expect(after.error_kinds.QuotaError).toBe(1);
  });

  it('keeps the answer bounded: at most 20 error kinds, the rest summed', async () => {
    const start = end + 5 * HOUR; // an hour of its own, after the history
    await stack.db.query(
      `insert into public.export_logs (export_id, user_id, "timestamp", format, config, conversation_count, status, error_message, created_at, updated_at)
       select gen_random_uuid(), (select user_id from public.export_logs limit 1), $1, 'json', '{}', 1, 'failed',
              'Kind' || k || ': detail', $1, $1::timestamptz + make_interval(secs => k)
         from generate_series(1, 25) k, generate_series(1, k) copies`,
      [new Date(start).toISOString()],
    );
    // History: these finished at their updated_at (written now, the triggers stamped them now).
    await stack.db.query(
      `update export_ops.exports x set finished_at = e.updated_at from public.export_logs e
        where e.id = x.id and e.error_message like 'Kind%: detail'`);
    const agg = await deps.windows.aggregateWindow({ start: new Date(start), end: new Date(start + HOUR) });
    expect(Object.keys(agg.error_kinds)).toHaveLength(20);
    // Kinds 6..25 have the most copies; kinds 1..5 (1+2+3+4+5 failures) are summed.
    expect(agg.error_kinds.Kind25).toBe(25);
    expect(agg.error_kinds.Kind5).toBeUndefined();
    expect(agg.error_kinds_other).toBe(15);
    expect(percentileCont([1, 2, 3, 4], 0.5)).toBe(2.5); // the JS definition used above
  });

  it('is callable by service_role only', async () => {
    const window = { p_start: new Date(end - HOUR).toISOString(), p_end: new Date(end).toISOString() };
    const anon = createClient(stack.env.SUPABASE_URL, stack.anonKey, { auth: { persistSession: false } });
    for (const fn of ['export_ops_metrics_aggregate', 'export_ops_metrics_pending_windows']) {
      const args = fn === 'export_ops_metrics_aggregate' ? window : { p_from: window.p_start, p_to: window.p_end };
      const { error, status } = await anon.rpc(fn, args);
      expect({ code: error?.code, status }).toEqual({ code: '42501', status: 401 });
    }
  });
});
