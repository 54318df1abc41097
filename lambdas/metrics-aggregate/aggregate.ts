import type { SupabaseClient } from '@supabase/supabase-js';
import type { CountRange, ExportFormat } from '../shared/export-logs';
import { must } from '../shared/supabase';
import type { Window } from './windows';

/** Users listed per window (metadata only, never a dimension: user ids are high-cardinality). */
export const TOP_USERS = 10;

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
  /** Null when no row finished in the window. */
  all: OutcomeStats | null;
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

/** Zero counts and no statistics: what an hour without finished exports reports. */
export const EMPTY_STATS: OutcomeStats = {
  total: 0,
  succeeded: 0,
  failed: 0,
  failure_rate: null,
  duration_ms: { avg: null, p50: null, p95: null, max: null },
  file_size_bytes: { avg: null, max: null },
};

/** The window's statistics for one format, or for all formats; zero counts when it had no rows. */
export function statsFor(aggregate: WindowAggregate, format?: ExportFormat): OutcomeStats {
  return (format ? aggregate.by_format[format] : aggregate.all) ?? EMPTY_STATS;
}

/**
 * Aggregates [start, end) in the database: one round trip, no row leaves it.
 *
 * @example
 * const agg = await aggregateWindow(supabase, { start, end });
 */
export async function aggregateWindow(supabase: SupabaseClient, window: Window, topUsers = TOP_USERS): Promise<WindowAggregate> {
  return must<WindowAggregate>('export_ops_metrics_aggregate', await supabase.rpc('export_ops_metrics_aggregate', {
    p_start: window.start.toISOString(),
    p_end: window.end.toISOString(),
    p_top_users: topUsers,
  }));
}

/**
 * Claims a window for this run and aggregates it in the same round trip; null when another run
 * holds it or it was emitted already. A claim older than `leaseSeconds`
 * (METRICS_WINDOW_LEASE_SECONDS, default 900: Lambda's longest timeout is 15 minutes, so no
 * live run holds a claim that long) belongs to a run that died.
 *
 * @example
 * const agg = await claimWindow(supabase, window, runId, 900);
 * if (agg) { emit(agg); await markEmitted(supabase, window, runId, 5, agg); }
 */
export async function claimWindow(supabase: SupabaseClient, window: Window, runId: string, leaseSeconds: number): Promise<WindowAggregate | null> {
  return must<WindowAggregate | null>('export_ops_metrics_claim_window', await supabase.rpc('export_ops_metrics_claim_window', {
    p_window_start: window.start.toISOString(),
    p_window_end: window.end.toISOString(),
    p_run_id: runId,
    p_lease_seconds: leaseSeconds,
    p_top_users: TOP_USERS,
  }));
}

/** Records the window as emitted; false when this run's claim had been taken over. */
export async function markEmitted(supabase: SupabaseClient, window: Window, runId: string, documents: number, summary: WindowAggregate): Promise<boolean> {
  return must<boolean>('export_ops_metrics_mark_emitted', await supabase.rpc('export_ops_metrics_mark_emitted', {
    p_window_start: window.start.toISOString(),
    p_run_id: runId,
    p_documents: documents,
    p_summary: summary,
  }));
}

/** Gives back a claim when nothing was written, so the next run need not wait for the lease. */
export async function releaseWindow(supabase: SupabaseClient, window: Window, runId: string): Promise<boolean> {
  return must<boolean>('export_ops_metrics_release_window', await supabase.rpc('export_ops_metrics_release_window', {
    p_window_start: window.start.toISOString(),
    p_run_id: runId,
  }));
}

/** Hour starts in [from, to) not emitted yet, oldest first (at most 14 days of them). */
export async function pendingWindows(supabase: SupabaseClient, from: Date, to: Date): Promise<Date[]> {
  const starts = must<string[]>('export_ops_metrics_pending_windows', await supabase.rpc('export_ops_metrics_pending_windows', {
    p_from: from.toISOString(),
    p_to: to.toISOString(),
  }));
  return starts.map((s) => new Date(s));
}
