import type { MetricsWindowStore, OutcomeStats, WindowAggregate } from '../../../lambdas/metrics-aggregate/ports';
import { HOUR_MS, type Window } from '../../../lambdas/metrics-aggregate/windows';
import type { Clock } from '../../../lambdas/shared/ports';

/**
 * An in-memory MetricsWindowStore (lambdas/metrics-aggregate/ports.ts), held to the supabase-js
 * adapter by ports.contract.test.ts. It keeps finished exports as plain rows and the
 * export_ops.metric_windows table as a map; aggregates carry the counts only (the statistics are
 * the SQL's, tested in aggregate.test.ts). Test code only.
 */

/** A finished export as the aggregate reads it. */
export interface FakeExport {
  finishedAt: number;
  status: 'completed' | 'failed';
  format: 'json' | 'jsonl' | 'csv' | 'markdown';
  userId: string;
}

interface WindowRecord {
  runId: string;
  claimedAt: number;
  emittedAt?: number;
  documents?: number;
  summary?: WindowAggregate;
}

const stats = (rows: FakeExport[]): OutcomeStats => {
  const failed = rows.filter((r) => r.status === 'failed').length;
  return {
    total: rows.length, succeeded: rows.length - failed, failed, failure_rate: rows.length ? failed / rows.length : null,
    duration_ms: { avg: null, p50: null, p95: null, max: null }, file_size_bytes: { avg: null, max: null },
  };
};

export class FakeWindowStore implements MetricsWindowStore {
  exports: FakeExport[] = [];
  /** export_ops.metric_windows, by window start (ms). */
  records = new Map<number, WindowRecord>();
  /** What export_ops_last_success answers. */
  lastSuccessTimes: Record<string, string | null> = { 'file-cleanup': null, 'log-cleanup': null, 'metrics-aggregate': null };
  /** The next this-many markEmitted calls throw (a lost connection). */
  failMarks = 0;

  constructor(private readonly clock: Clock) {}

  async pendingWindows(from: Date, to: Date): Promise<Date[]> {
    const starts: Date[] = [];
    for (let t = from.getTime(); t < to.getTime(); t += HOUR_MS) {
      if (this.records.get(t)?.emittedAt === undefined) starts.push(new Date(t));
    }
    return starts;
  }

  async aggregateWindow(window: Window, topUsers = 10): Promise<WindowAggregate> {
    const rows = this.exports.filter((e) => e.finishedAt >= window.start.getTime() && e.finishedAt < window.end.getTime());
    const byFormat: WindowAggregate['by_format'] = {};
    for (const format of new Set(rows.map((r) => r.format))) byFormat[format] = stats(rows.filter((r) => r.format === format));
    const perUser = new Map<string, number>();
    for (const r of rows) perUser.set(r.userId, (perUser.get(r.userId) ?? 0) + 1);
    return {
      window_start: window.start.toISOString(),
      window_end: window.end.toISOString(),
      all: stats(rows),
      by_format: byFormat,
      by_count_range: {},
      distinct_users: perUser.size,
      error_kinds: {},
      error_kinds_other: 0,
      top_users: [...perUser].sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0])).slice(0, topUsers)
        .map(([user_id, exports]) => ({ user_id, exports })),
    };
  }

  async claimWindow(window: Window, runId: string, leaseSeconds: number): Promise<WindowAggregate | null> {
    const now = this.clock.now().getTime();
    if (window.end.getTime() > now) return null; // the hour is not over
    const held = this.records.get(window.start.getTime());
    if (held && (held.emittedAt !== undefined || held.claimedAt >= now - leaseSeconds * 1000)) return null;
    this.records.set(window.start.getTime(), { runId, claimedAt: now });
    return this.aggregateWindow(window);
  }

  async markEmitted(window: Window, runId: string, documents: number, summary: WindowAggregate): Promise<boolean> {
    if (this.failMarks > 0) {
      this.failMarks -= 1;
      throw new Error('export_ops_metrics_mark_emitted failed: connection reset');
    }
    const record = this.records.get(window.start.getTime());
    if (record?.runId !== runId) return false;
    record.emittedAt ??= this.clock.now().getTime();
    Object.assign(record, { documents, summary });
    return true;
  }

  async releaseWindow(window: Window, runId: string): Promise<boolean> {
    const record = this.records.get(window.start.getTime());
    if (record?.runId !== runId || record.emittedAt !== undefined) return false;
    this.records.delete(window.start.getTime());
    return true;
  }

  async lastSuccess(): Promise<Record<string, string | null>> {
    return { ...this.lastSuccessTimes };
  }
}
