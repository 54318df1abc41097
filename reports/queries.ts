import type { Logger } from '@aws-lambda-powertools/logger';
import type { SupabaseClient } from '@supabase/supabase-js';
import { statsFor } from '../lambdas/metrics-aggregate/aggregate';
import { SupabaseWindowStore } from '../lambdas/metrics-aggregate/window-store';
import { EXPORT_FORMATS } from '../lambdas/shared/export-logs';
import { must } from '../lambdas/shared/supabase';

/**
 * Reports on export outcomes for `npx export-ops report`: the questions the app's original
 * metrics service answered (failure rate, volume, an aggregate over any range), answered in
 * SQL (one RPC each, one jsonb answer, so no row cap can cut them). They count exports by the
 * same rule as the hourly metrics: a row counts when it finished (finished_at) in the range,
 * as succeeded (completed or expired) or failed; queued and processing rows have no outcome yet.
 */

/** The alert threshold of the failure-rate check: more than 10% failed. */
export const FAILURE_RATE_THRESHOLD = 0.1;
/** Users listed in aggregateMetrics' exports_per_user (all of them would grow with the table). */
export const EXPORTS_PER_USER_LIMIT = 100;
/** getExportVolume looks back at most a year: a bounded answer (8,784 hourly periods). */
export const MAX_VOLUME_DAYS = 366;
/** checkFailureRate's look-back: at most the 14 days the hourly metrics cover. */
export const MAX_LOOKBACK_MINUTES = 14 * 24 * 60;

export interface FailureRateCheck {
  alert: boolean;
  failure_rate: number;
  failed_count: number;
  total_count: number;
  threshold: number;
}

/** The fields of the original service's AggregatedMetrics. */
export interface AggregatedMetrics {
  period: 'hourly' | 'daily';
  period_start: string;
  period_end: string;
  total_exports: number;
  successful_exports: number;
  failed_exports: number;
  success_rate: number;
  avg_duration_by_format: Record<string, number>;
  avg_file_size_by_format: Record<string, number>;
  max_file_size_by_format: Record<string, number>;
  format_distribution: Record<string, number>;
  /** The top {@link EXPORTS_PER_USER_LIMIT} users by exports. */
  exports_per_user: Record<string, number>;
  error_distribution: Record<string, number>;
}

/**
 * Failure rate of the exports finished in the last `lookbackMinutes`; null when none did.
 * Logs an `export_failure_alert` warning when the rate is above 10%.
 *
 * @example
 * const check = await checkFailureRate(supabase, logger, 60); // { alert, failure_rate, ... } | null
 */
export async function checkFailureRate(supabase: SupabaseClient, logger: Logger, lookbackMinutes = 60, now = new Date()): Promise<FailureRateCheck | null> {
  if (!Number.isInteger(lookbackMinutes) || lookbackMinutes < 1 || lookbackMinutes > MAX_LOOKBACK_MINUTES) {
    throw new RangeError(`lookbackMinutes must be a whole number from 1 to ${MAX_LOOKBACK_MINUTES}, got ${lookbackMinutes}`);
  }
  const start = new Date(now.getTime() - lookbackMinutes * 60_000);
  const all = statsFor(await new SupabaseWindowStore(supabase).aggregateWindow({ start, end: now }, 0));
  if (all.total === 0) return null;
  const result = {
    alert: (all.failure_rate ?? 0) > FAILURE_RATE_THRESHOLD,
    failure_rate: all.failure_rate ?? 0,
    failed_count: all.failed,
    total_count: all.total,
    threshold: FAILURE_RATE_THRESHOLD,
  };
  if (result.alert) {
    logger.warn('export failure rate above threshold', { type: 'export_failure_alert', severity: 'high', lookback_minutes: lookbackMinutes, ...result });
  }
  return result;
}

/**
 * Exports requested per hour ('YYYY-MM-DDTHH') or day ('YYYY-MM-DD'),
 * UTC, over the last `days` days, non-empty periods only, oldest first.
 *
 * @example
 * await getExportVolume(supabase, 'daily', 7); // [{ period: '2026-01-14', count: 212 }, ...]
 */
export async function getExportVolume(supabase: SupabaseClient, period: 'hourly' | 'daily' = 'daily', days = 7, now = new Date()): Promise<{ period: string; count: number }[]> {
  if (!Number.isInteger(days) || days < 1 || days > MAX_VOLUME_DAYS) throw new RangeError(`days must be a whole number from 1 to ${MAX_VOLUME_DAYS}, got ${days}`);
  return must('export_ops_metrics_volume', await supabase.rpc('export_ops_metrics_volume', {
    p_period: period,
    p_start: new Date(now.getTime() - days * 86_400_000).toISOString(),
    p_end: now.toISOString(),
  }));
}

/**
 * Every outcome figure over [start, end), with the original service's field names.
 *
 * @example
 * const m = await aggregateMetrics(supabase, new Date('2026-01-15T09:00Z'), new Date('2026-01-15T10:00Z'));
 */
export async function aggregateMetrics(supabase: SupabaseClient, start: Date, end: Date, period: 'hourly' | 'daily' = 'hourly'): Promise<AggregatedMetrics> {
  if (!(end > start)) throw new RangeError(`end (${end.toISOString()}) must be after start (${start.toISOString()})`);
  const agg = await new SupabaseWindowStore(supabase).aggregateWindow({ start, end }, EXPORTS_PER_USER_LIMIT);
  const all = statsFor(agg);
  const byFormat = <T>(pick: (s: ReturnType<typeof statsFor>) => T | null) =>
    Object.fromEntries(EXPORT_FORMATS.flatMap((f) => {
      const value = agg.by_format[f] ? pick(statsFor(agg, f)) : null;
      return value === null ? [] : [[f, value]];
    })) as Record<string, T>;
  return {
    period,
    period_start: start.toISOString(),
    period_end: end.toISOString(),
    total_exports: all.total,
    successful_exports: all.succeeded,
    failed_exports: all.failed,
    success_rate: all.total > 0 ? all.succeeded / all.total : 0,
    avg_duration_by_format: byFormat((s) => s.duration_ms.avg),
    avg_file_size_by_format: byFormat((s) => s.file_size_bytes.avg),
    max_file_size_by_format: byFormat((s) => s.file_size_bytes.max),
    format_distribution: byFormat((s) => s.total),
    exports_per_user: Object.fromEntries(agg.top_users.map((u) => [u.user_id, u.exports])),
    error_distribution: agg.error_kinds,
  };
}
