import type { MetricsSink } from './ports';
import type { JobName } from './observability';

/**
 * The one list of the EMF metrics export-ops emits: name, unit, dimension sets and the job that
 * emits it. The jobs emit through it (`emit`), the CDK stack builds its alarms and dashboard from
 * it (lib/monitoring), so a name cannot be spelled twice. Alarms treat missing data as "not
 * breaching", so a misspelled name would give an alarm that never fires;
 * test/lib/metric-catalog.test.ts runs the jobs and checks every metric the stack reads is emitted.
 */

/** Dimension names of the EMF metrics. */
export const DIMENSIONS = {
  /** Which job wrote the metric (job metrics only). */
  job: 'Job',
  /** Export format (export metrics' per-format series). */
  format: 'Format',
} as const;

/** CloudWatch units the catalog uses (Powertools' MetricUnit values). */
export type CatalogUnit = 'Count' | 'Milliseconds' | 'Seconds' | 'Bytes' | 'Percent';

export interface CatalogMetric<N extends string = string> {
  readonly name: N;
  readonly unit: CatalogUnit;
  /**
   * The dimension sets of the EMF documents carrying it. A job metric has exactly `[['Job']]`;
   * an export metric is written twice per window: all formats (`[]`) and per format (`['Format']`).
   */
  readonly dimensionSets: readonly (readonly string[])[];
  /** The jobs that emit it (EMF); empty for a metric a drain state machine writes. */
  readonly emittedBy: readonly JobName[];
  /**
   * Who else writes it: `drain` for a metric the drain state machines write with a
   * putMetricData task (lib/drain.ts), not a job.
   * @default - only the jobs in emittedBy
   */
  readonly writtenBy?: 'drain';
  /**
   * The values of its `Job` dimension, when that names the job the number is about rather than
   * the job writing it.
   * @default emittedBy
   */
  readonly subjects?: readonly JobName[];
  readonly description: string;
}

const JOB_SETS = [[DIMENSIONS.job]] as const;
const EXPORT_SETS = [[], [DIMENSIONS.format]] as const;
const ALL_JOBS: readonly JobName[] = ['file-cleanup', 'log-cleanup', 'metrics-aggregate'];

const jobMetric = <N extends string>(name: N, unit: CatalogUnit, emittedBy: readonly JobName[], description: string): CatalogMetric<N> =>
  ({ name, unit, dimensionSets: JOB_SETS, emittedBy, description });
const exportMetric = <N extends string>(name: N, unit: CatalogUnit, description: string): CatalogMetric<N> =>
  ({ name, unit, dimensionSets: EXPORT_SETS, emittedBy: ['metrics-aggregate'], description });

export const METRICS = {
  // Every job, once per completed run (the heartbeat alarms count these).
  JobDurationMs: jobMetric('JobDurationMs', 'Milliseconds', ALL_JOBS, 'Duration of a completed run (dry runs included)'),

  // file-cleanup, per real run.
  FilesDeleted: jobMetric('FilesDeleted', 'Count', ['file-cleanup'], 'Export files deleted'),
  FilesFailed: jobMetric('FilesFailed', 'Count', ['file-cleanup'], 'Files whose deletion failed'),
  BytesReclaimed: jobMetric('BytesReclaimed', 'Bytes', ['file-cleanup'], 'Bytes of the deleted files'),
  FilesSkipped: jobMetric('FilesSkipped', 'Count', ['file-cleanup'], 'Due rows the cleanup skipped (see the run result)'),
  CleanupFailures: jobMetric('CleanupFailures', 'Count', ['file-cleanup'], 'Files not deleted, plus 1 for a run that threw'),

  // log-cleanup, per real run.
  LogsArchived: jobMetric('LogsArchived', 'Count', ['log-cleanup'], 'export_logs rows archived to S3'),
  LogsDeleted: jobMetric('LogsDeleted', 'Count', ['log-cleanup'], 'export_logs rows deleted'),
  ArchiveBytes: jobMetric('ArchiveBytes', 'Bytes', ['log-cleanup'], 'Bytes written to the archive'),
  LogCleanupFailures: jobMetric('LogCleanupFailures', 'Count', ['log-cleanup'], '1 for a run that threw'),

  // metrics-aggregate, per run.
  MetricWindowsEmitted: jobMetric('MetricWindowsEmitted', 'Count', ['metrics-aggregate'], 'Hourly windows emitted'),
  MetricWindowsClaimLost: jobMetric('MetricWindowsClaimLost', 'Count', ['metrics-aggregate'], 'Windows another run took over'),
  MetricsAggregateFailures: jobMetric('MetricsAggregateFailures', 'Count', ['metrics-aggregate'], '1 for a run that threw'),
  // Written by the metrics job each real run, one document per watched job, Job = that job.
  SecondsSinceLastSuccess: {
    ...jobMetric('SecondsSinceLastSuccess', 'Seconds', ['metrics-aggregate'], 'Age of the job\'s last completed real run (export_ops.runs)'),
    subjects: ['file-cleanup', 'log-cleanup'],
  },

  // Written by a drain state machine (lib/drain.ts), not by a job: 1 per worker that stopped at
  // its iteration or time cap while its job still answered `more: true`. Job = the drained job.
  DrainCapReached: {
    name: 'DrainCapReached', unit: 'Count', dimensionSets: JOB_SETS, emittedBy: [], writtenBy: 'drain',
    subjects: ['file-cleanup', 'log-cleanup'],
    description: 'Drain workers that stopped at a cap with work left (written by the drain state machine)',
  },

  // Export metrics: one document per closed hour (timestamp = window start), all formats and per format.
  ExportsTotal: exportMetric('ExportsTotal', 'Count', 'Exports finished in the hour'),
  ExportsSucceeded: exportMetric('ExportsSucceeded', 'Count', 'Exports completed in the hour'),
  ExportsFailed: exportMetric('ExportsFailed', 'Count', 'Exports failed in the hour'),
  FailureRate: exportMetric('FailureRate', 'Percent', 'Failed / finished, percent (absent for an empty hour)'),
  ExportDurationAvg: exportMetric('ExportDurationAvg', 'Milliseconds', 'Average export duration'),
  ExportDurationP95: exportMetric('ExportDurationP95', 'Milliseconds', '95th percentile export duration'),
  ExportDurationMax: exportMetric('ExportDurationMax', 'Milliseconds', 'Longest export'),
  ExportFileSizeAvg: exportMetric('ExportFileSizeAvg', 'Bytes', 'Average export file size'),
  ExportFileSizeMax: exportMetric('ExportFileSizeMax', 'Bytes', 'Largest export file'),
} as const;

export type MetricName = keyof typeof METRICS;

/** The metric counting a job's failed runs (what `runJob` adds when a run throws). */
export const FAILURE_METRICS = {
  'file-cleanup': METRICS.CleanupFailures,
  'log-cleanup': METRICS.LogCleanupFailures,
  'metrics-aggregate': METRICS.MetricsAggregateFailures,
} as const satisfies Record<JobName, CatalogMetric>;

export type FailureMetricName = (typeof FAILURE_METRICS)[JobName]['name'];

/**
 * Adds one catalog metric to a metrics sink (Powertools Metrics in Lambda), with the catalog's unit.
 *
 * @example
 * emit(metrics, METRICS.FilesDeleted, 10);
 */
export function emit(metrics: Pick<MetricsSink, 'addMetric'>, metric: CatalogMetric, value: number): void {
  metrics.addMetric(metric.name, metric.unit, value);
}
