import { aggregateMetrics, checkFailureRate, getExportVolume } from '../../reports/queries';
import { Logger } from '@aws-lambda-powertools/logger';
import type { SupabaseClient } from '@supabase/supabase-js';
import { createServiceClient } from '../../lambdas/shared/supabase';
import type { LocalStack } from '../../local/stack';
import { databaseMode, startTestStack } from '../support/stack';
import { errorKind, expectedStats, fetchRows, floorHour, HOUR, rowsInWindow, seedHistory } from '../lambdas/metrics-aggregate/support';

/** The report queries (`export-ops report`), answered in SQL, against numbers computed here from the rows. */
describe(`metrics service functions (${databaseMode})`, () => {
  let stack: LocalStack;
  let supabase: SupabaseClient;
  const logger = new Logger({ serviceName: 'reports-test' });
  const end = floorHour(Date.now()) - 2 * HOUR;

  beforeAll(async () => {
    stack = await startTestStack();
    supabase = createServiceClient(stack.supabase.url, stack.serviceRoleKey);
    await seedHistory(stack, end, 1200);
  });
  afterAll(() => stack.stop());

  it('aggregateMetrics returns the original route\'s fields for any range', async () => {
    const [start, stop] = [end - 7 * HOUR - 30 * 60_000, end - 2 * HOUR];
    const rows = rowsInWindow(await fetchRows(stack), start, stop);
    const m = await aggregateMetrics(supabase, new Date(start), new Date(stop));
    const all = expectedStats(rows);
    expect(m).toMatchObject({ period: 'hourly', period_start: new Date(start).toISOString(), total_exports: all.total,
      successful_exports: all.succeeded, failed_exports: all.failed });
    expect(m.success_rate).toBeCloseTo(all.succeeded / all.total, 12);
    for (const format of ['json', 'jsonl', 'csv', 'markdown']) {
      const e = expectedStats(rows.filter((r) => r.format === format));
      expect(m.format_distribution[format]).toBe(e.total);
      expect(m.avg_duration_by_format[format]).toBeCloseTo(e.duration_ms.avg as number, 6);
      expect(m.avg_file_size_by_format[format]).toBeCloseTo(e.file_size_bytes.avg as number, 6);
      expect(m.max_file_size_by_format[format]).toBe(e.file_size_bytes.max);
    }
    const errors: Record<string, number> = {};
    for (const r of rows.filter((x) => x.status === 'failed')) errors[errorKind(r.error_message)] = (errors[errorKind(r.error_message)] ?? 0) + 1;
    expect(m.error_distribution).toEqual(errors);
    const perUser = new Map<string, number>();
    for (const r of rows) perUser.set(r.user_id, (perUser.get(r.user_id) ?? 0) + 1);
    expect(Object.keys(m.exports_per_user)).toHaveLength(Math.min(100, perUser.size));
    for (const [user, n] of Object.entries(m.exports_per_user)) expect(perUser.get(user)).toBe(n);
  });

  it('checkFailureRate reports the last minutes, alerts above 10%, and is null when nothing finished', async () => {
    const now = new Date(end - 3 * HOUR);
    const rows = rowsInWindow(await fetchRows(stack), now.getTime() - 90 * 60_000, now.getTime());
    const failed = rows.filter((r) => r.status === 'failed').length;
    const check = await checkFailureRate(supabase, logger, 90, now);
    expect(check).toEqual({ alert: failed / rows.length > 0.1, failure_rate: failed / rows.length, failed_count: failed,
      total_count: rows.length, threshold: 0.1 });
    expect(await checkFailureRate(supabase, logger, 60, new Date(end - 20 * HOUR))).toBeNull();
  });

  it('getExportVolume counts requested exports per hour and per day, oldest first', async () => {
    const { rows } = await stack.db.query<{ ms: number }>(`select extract(epoch from "timestamp")::float8 * 1000 as ms from public.export_logs`);
    const now = new Date(end + HOUR);
    const inRange = rows.map((r) => new Date(r.ms)).filter((d) => d.getTime() >= now.getTime() - 86_400_000 && d < now);
    const count = (key: (d: Date) => string) => {
      const map = new Map<string, number>();
      for (const d of inRange) map.set(key(d), (map.get(key(d)) ?? 0) + 1);
      return [...map].sort(([a], [b]) => (a < b ? -1 : 1)).map(([period, n]) => ({ period, count: n }));
    };
    expect(await getExportVolume(supabase, 'hourly', 1, now)).toEqual(count((d) => d.toISOString().slice(0, 13)));
    expect(await getExportVolume(supabase, 'daily', 1, now)).toEqual(count((d) => d.toISOString().slice(0, 10)));
    await expect(getExportVolume(supabase, 'daily', 0, now)).rejects.toThrow(/days must be a whole number/);
  });
});
