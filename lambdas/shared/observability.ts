import { Logger } from '@aws-lambda-powertools/logger';
import { Metrics } from '@aws-lambda-powertools/metrics';

export type JobName = 'file-cleanup' | 'log-cleanup' | 'metrics-aggregate';

/** The `service` key of every log line; which job wrote it is the line's own `job` key. */
export const SERVICE_NAME = 'export-ops';

/**
 * A Powertools Logger whose every line carries the job's name.
 *
 * @example
 * const logger = createJobLogger('file-cleanup');
 * logger.info('run finished', { result });
 */
export function createJobLogger(job: JobName): Logger {
  const logger = new Logger({ serviceName: SERVICE_NAME });
  logger.appendPersistentKeys({ job });
  return logger;
}

/**
 * Powertools Metrics for a job: EMF with exactly one dimension, `Job`, so the alarms and the
 * dashboard name each metric by (namespace, name, Job). Powertools adds a `service` dimension by
 * default; it is cleared here because the stack's alarms do not use it.
 *
 * @example
 * const metrics = createJobMetrics('file-cleanup', 'ExportOps');
 * metrics.addMetric('FilesDeleted', MetricUnit.Count, 10);
 * metrics.publishStoredMetrics();
 */
export function createJobMetrics(job: JobName | undefined, namespace: string): Metrics {
  const metrics = new Metrics({ namespace, serviceName: SERVICE_NAME });
  metrics.clearDefaultDimensions();
  if (job) metrics.setDefaultDimensions({ Job: job });
  return metrics;
}
