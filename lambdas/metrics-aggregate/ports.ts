import type { JobDeps } from '../shared/job';
import type { CountRange, ExportFormat } from '../shared/export-logs';
import type { Window } from './windows';

/**
 * The metrics job's port: the database, which aggregates the hours and records which were
 * emitted (export_ops.metric_windows). The EMF output is the shared MetricsSink. The job's logic
 * (job.ts, staleness.ts) sees only these; the supabase-js adapter is window-store.ts, the
 * in-memory fake test/lambdas/metrics-aggregate/fakes.ts.
 */

export interface OutcomeStats {
  total: number;
  succeeded: number;
  failed: number;
  /** failed / total, 0..1; null when nothing finished. */
  failure_rate: number | null;
  /** finished_at - created_at over finished rows; null when none. percentile_cont. */
  duration_ms: { avg: number | null; p50: number | null; p95: number | null; max: number | null };
  /** Over rows with a file_size (succeeded ones). */
  file_size_bytes: { avg: number | null; max: number | null };
}

/** One window's aggregate, as export_ops_metrics_aggregate returns it (bounded size). */
export interface WindowAggregate {
  window_start: string;
  window_end: string;
  /** Over every format; zero counts and null statistics when no row finished in the window. */
  all: OutcomeStats;
  /** Only the formats that had rows; see {@link statsFor}. */
  by_format: Partial<Record<ExportFormat, OutcomeStats>>;
  by_count_range: Partial<Record<CountRange, { total: number; succeeded: number; failed: number; duration_ms: { avg: number; p95: number } }>>;
  distinct_users: number;
  /** The text before the first ':' of error_message ('Unknown' when none); top 20 kinds. */
  error_kinds: Record<string, number>;
  /** Failures of kinds beyond the top 20. */
  error_kinds_other: number;
  top_users: { user_id: string; exports: number }[];
}

/**
 * Hourly windows of finished exports, each aggregated in the database and emitted at most once
 * per claim. A claim is a lease: a window another live run holds is not claimed again until its
 * lease runs out.
 */
export interface MetricsWindowStore {
  /** Hour starts in [from, to) not emitted yet, oldest first (at most 14 days of them). */
  pendingWindows(from: Date, to: Date): Promise<Date[]>;
  /** Aggregates a window, read only (dry runs and reports); `topUsers` users listed. */
  aggregateWindow(window: Window, topUsers?: number): Promise<WindowAggregate>;
  /** Claims the window for this run and aggregates it; null when another run holds it or it was emitted. */
  claimWindow(window: Window, runId: string, leaseSeconds: number): Promise<WindowAggregate | null>;
  /** Records the window as emitted with its summary; false when this run's claim was taken over. */
  markEmitted(window: Window, runId: string, documents: number, summary: WindowAggregate): Promise<boolean>;
  /** Gives back a claim when nothing was written; false when this run did not hold it. */
  releaseWindow(window: Window, runId: string): Promise<boolean>;
  /** When each job last completed a real run (null: never), from the run ledger. */
  lastSuccess(): Promise<Record<string, string | null>>;
}

export interface MetricsAggregatePorts {
  windows: MetricsWindowStore;
}

export type MetricsDeps = JobDeps & MetricsAggregatePorts;
