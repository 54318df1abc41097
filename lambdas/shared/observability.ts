import { Logger } from '@aws-lambda-powertools/logger';
import { Metrics } from '@aws-lambda-powertools/metrics';
import { SETTINGS } from './settings';

export type JobName = 'file-cleanup' | 'log-cleanup' | 'metrics-aggregate';

/** The service name without POWERTOOLS_SERVICE_NAME (the CLI, tests): the settings table's default. */
export const SERVICE_NAME = SETTINGS.serviceName.default;

/**
 * The `service` key of every log line: POWERTOOLS_SERVICE_NAME, which the stack sets to each
 * function's job name, else `export-ops` (the CLI and tests). It has to be resolved here, not
 * left to Powertools: a `serviceName` option always beats the variable, and without either
 * Powertools would write `service_undefined`.
 *
 * @example
 * serviceName({ POWERTOOLS_SERVICE_NAME: 'file-cleanup' }) // 'file-cleanup'
 */
export function serviceName(env: NodeJS.ProcessEnv = process.env): string {
  return env[SETTINGS.serviceName.env]?.trim() || SERVICE_NAME;
}

/**
 * A Powertools Logger whose every line carries the job's name (`job`) and the service name.
 *
 * @example
 * const logger = createJobLogger('file-cleanup', config.serviceName);
 * logger.info('run finished', { result });
 */
export function createJobLogger(job: JobName, service: string = serviceName()): Logger {
  const logger = new Logger({ serviceName: service });
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
export function createJobMetrics(job: JobName | undefined, namespace: string, service: string = serviceName()): Metrics {
  const metrics = new Metrics({ namespace, serviceName: service });
  metrics.clearDefaultDimensions();
  if (job) metrics.setDefaultDimensions({ Job: job });
  return metrics;
}
