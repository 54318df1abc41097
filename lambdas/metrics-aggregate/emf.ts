import { Metrics } from '@aws-lambda-powertools/metrics';
import { type CatalogMetric, DIMENSIONS, emit, METRICS } from '../shared/metric-catalog';
import { createJobMetrics } from '../shared/observability';
import { EXPORT_FORMATS, type ExportFormat } from '../shared/export-logs';
import { statsFor } from './aggregate';
import type { OutcomeStats, WindowAggregate } from './ports';

/** CloudWatch reads at most 100 metrics from one EMF document (Powertools splits past it). */
export const MAX_METRICS_PER_DOCUMENT = 100;

/** The export metrics, from the catalog the stack's alarms and dashboard are built from. */
export const EXPORT_METRICS = {
  total: METRICS.ExportsTotal,
  succeeded: METRICS.ExportsSucceeded,
  failed: METRICS.ExportsFailed,
  failureRate: METRICS.FailureRate,
  durationAvg: METRICS.ExportDurationAvg,
  durationP95: METRICS.ExportDurationP95,
  durationMax: METRICS.ExportDurationMax,
  fileSizeAvg: METRICS.ExportFileSizeAvg,
  fileSizeMax: METRICS.ExportFileSizeMax,
} as const;

/**
 * Effectively once. A window is claimed, written, then recorded (export_ops.metric_windows); a
 * run that dies after writing and before recording can leave it to be written again, so a
 * window may reach CloudWatch twice (at-least-once emission), and CloudWatch keeps both copies.
 * Each document carries one datapoint per metric, stamped at the window start, so the stack
 * reads these metrics with Maximum over the window's hour (WINDOW_STATISTIC in
 * lib/monitoring/metrics.ts), which a duplicate does not move (idempotent read). Never read
 * them with Sum or SampleCount: those count the copies.
 */
/** Documents per window: one for all formats (dimension set []) and one per format (["Format"]). */
export const DOCUMENTS_PER_WINDOW = 1 + EXPORT_FORMATS.length;

/**
 * Powertools types metadata values as strings but writes any JSON value; structured metadata
 * stays queryable in Logs Insights (e.g. `top_users.0.user_id`).
 */
const addJsonMetadata = (metrics: Metrics, key: string, value: unknown) => metrics.addMetadata(key, value as string);

function addStats(metrics: Metrics, stats: OutcomeStats): number {
  const m = EXPORT_METRICS;
  const values: [CatalogMetric, number | null][] = [
    // Counts are always written, zero included, so an empty hour is a datapoint the alarms see.
    [m.total, stats.total],
    [m.succeeded, stats.succeeded],
    [m.failed, stats.failed],
    // A rate, duration or size of nothing does not exist: left out rather than written as 0.
    [m.failureRate, stats.failure_rate === null ? null : stats.failure_rate * 100],
    [m.durationAvg, stats.duration_ms.avg],
    [m.durationP95, stats.duration_ms.p95],
    [m.durationMax, stats.duration_ms.max],
    [m.fileSizeAvg, stats.file_size_bytes.avg],
    [m.fileSizeMax, stats.file_size_bytes.max],
  ];
  const present = values.filter((v): v is [CatalogMetric, number] => v[1] !== null);
  if (present.length > MAX_METRICS_PER_DOCUMENT) throw new Error(`an EMF document holds at most ${MAX_METRICS_PER_DOCUMENT} metrics`);
  for (const [metric, value] of present) emit(metrics, metric, value);
  return present.length;
}

function document(namespace: string, aggregate: WindowAggregate, format?: ExportFormat): Metrics {
  // A fresh instance without default dimensions: export metrics carry no Job dimension.
  const metrics = createJobMetrics(undefined, namespace);
  metrics.setTimestamp(new Date(aggregate.window_start));
  // addDimensions({}) makes the empty dimension set [] (the all-formats series).
  metrics.addDimensions(format ? { [DIMENSIONS.format]: format } : {});
  addStats(metrics, statsFor(aggregate, format));
  metrics.addMetadata('window_start', new Date(aggregate.window_start).toISOString());
  metrics.addMetadata('window_end', new Date(aggregate.window_end).toISOString());
  if (!format) {
    // High-cardinality or many-valued facts go in metadata, never in dimensions.
    const all = statsFor(aggregate);
    addJsonMetadata(metrics, 'duration_ms_p50', all.duration_ms.p50);
    addJsonMetadata(metrics, 'distinct_users', aggregate.distinct_users);
    addJsonMetadata(metrics, 'by_count_range', aggregate.by_count_range);
    addJsonMetadata(metrics, 'error_kinds', aggregate.error_kinds);
    addJsonMetadata(metrics, 'error_kinds_other', aggregate.error_kinds_other);
    addJsonMetadata(metrics, 'top_users', aggregate.top_users);
  }
  return metrics;
}

/**
 * The window's EMF documents, built but not written: the all-formats one first, then one per
 * format. Each has the window's start as its timestamp.
 *
 * @example
 * const docs = buildWindowDocuments('ExportOps', aggregate).map((m) => m.serializeMetrics());
 */
export function buildWindowDocuments(namespace: string, aggregate: WindowAggregate): Metrics[] {
  return [document(namespace, aggregate), ...EXPORT_FORMATS.map((format) => document(namespace, aggregate, format))];
}

/** Reads Powertools' own verdict on its environment (isDisabled is protected). */
class MetricsProbe extends Metrics {
  disabledByEnvironment(): boolean {
    return this.isDisabled();
  }
}

/**
 * Refuses to run when Powertools would drop the documents (POWERTOOLS_METRICS_DISABLED, or
 * POWERTOOLS_DEV alone): windows marked emitted then would be lost for good.
 *
 * @example
 * assertEmfEnabled('ExportOps'); // throws when metrics are disabled
 */
export function assertEmfEnabled(namespace: string): void {
  if (new MetricsProbe({ namespace }).disabledByEnvironment()) {
    throw new Error('EMF output is disabled (POWERTOOLS_METRICS_DISABLED=true, or POWERTOOLS_DEV without POWERTOOLS_METRICS_DISABLED=false): no window is emitted');
  }
}

/**
 * Writes the window's EMF documents to stdout (one JSON line each, through Powertools) and
 * returns how many were written.
 *
 * @example
 * emitWindow('ExportOps', aggregate); // → 5
 */
export function emitWindow(namespace: string, aggregate: WindowAggregate): number {
  const documents = buildWindowDocuments(namespace, aggregate);
  for (const metrics of documents) metrics.publishStoredMetrics();
  return documents.length;
}
