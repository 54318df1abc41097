import { Console } from 'node:console';
import { Writable } from 'node:stream';
import { Logger } from '@aws-lambda-powertools/logger';
import { Metrics } from '@aws-lambda-powertools/metrics';
import { SETTINGS } from './settings';

/**
 * Where the jobs' log lines and EMF documents go. In Lambda: Powertools' default, stdout, which
 * Lambda ships to CloudWatch (EMF must be there). A command line routes them elsewhere, so its
 * stdout holds only its own answer: logs to stderr, EMF nowhere unless asked for.
 */
export interface JobOutput {
  logs: NodeJS.WritableStream;
  emf: NodeJS.WritableStream;
}

/** A stream that drops everything: output switched off. */
export const DISCARD: NodeJS.WritableStream = new Writable({ write: (_chunk, _encoding, done) => done() });

let routed: Partial<JobOutput> = {};

/**
 * Routes the Loggers and Metrics created from now on, in this process; the CLI calls it once at
 * start-up, the Lambda never does.
 *
 * @example
 * routeJobOutput({ logs: process.stderr, emf: DISCARD });
 */
export function routeJobOutput(to: Partial<JobOutput>): void {
  routed = { ...to };
}

/**
 * Powertools has no output option: it writes through its `console` property (a Console on
 * stdout/stderr, see its setConsole). Replacing that property is the one way to send its lines
 * elsewhere without touching the process's own streams.
 */
function writeThrough(target: Logger | Metrics, stream: NodeJS.WritableStream | undefined): void {
  if (stream) (target as unknown as { console: Console }).console = new Console({ stdout: stream, stderr: stream });
}
const consoleOn = (stream: NodeJS.WritableStream | undefined) => (stream ? new Console({ stdout: stream, stderr: stream }) : undefined);

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
  writeThrough(logger, routed.logs);
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
  // Powertools' own warnings (an empty flush, a bad dimension) are log lines, not EMF.
  const metrics = new Metrics({ namespace, serviceName: service, logger: consoleOn(routed.logs) });
  writeThrough(metrics, routed.emf);
  metrics.clearDefaultDimensions();
  if (job) metrics.setDefaultDimensions({ Job: job });
  return metrics;
}
