import type { Logger } from '@aws-lambda-powertools/logger';
import type { Metrics } from '@aws-lambda-powertools/metrics';
import type { SupabaseClient } from '@supabase/supabase-js';
import * as z from 'zod';
import { advanceBackfill } from './backfill';
import { notAheadDateTime } from './clock';
import { loadConfig, type ExportOpsConfig } from './config';
import { emit, type FailureMetricName, METRICS } from './metric-catalog';
import { createJobLogger, createJobMetrics, type JobName } from './observability';
import { createServiceClient, must, resolveServiceRoleKey } from './supabase';

export { must };

/**
 * The ports every job runs over; the handler, the CLI and the tests all build the same ones.
 * A port only some jobs use (log-cleanup's S3 client) is not here: the job declares it
 * (`JobDefinition.ports`), so no other job's bundle imports its client.
 */
export interface JobDeps {
  config: ExportOpsConfig;
  supabase: SupabaseClient;
  logger: Logger;
  metrics: Metrics;
  /** Milliseconds before the job must stop taking new work (Lambda's remaining time, less a margin). */
  remainingMs(): number;
}

/** Fields every job result carries (the original cron routes' names). */
export interface JobResult {
  duration_ms: number;
  timestamp: string;
  dry_run?: boolean;
  /** True when the time budget ran out with work left: run again to continue. */
  more?: boolean;
}

/**
 * What every job accepts: the schedule's `scheduledTime`, which is the job's "now" (read it with
 * `jobNow` from ./clock). A time more than MAX_CLOCK_SKEW_MS ahead of the clock is refused.
 */
export const scheduledInput = z.object({
  scheduledTime: notAheadDateTime('scheduledTime', 'scheduledTime must be an ISO 8601 date-time').optional(),
});

/** What a job that needs only the common ports declares as its own. */
export type NoPorts = Record<never, never>;

/** `ports` of a job that needs only the common ports (JobDeps). */
export const noPorts = (): NoPorts => ({});

export interface JobDefinition<Input, Result extends JobResult, Ports extends object = NoPorts> {
  name: JobName;
  /** Strict schema of the event: unknown fields and wrong types are refused before any work. */
  input: z.ZodType<Input>;
  /**
   * Builds the ports this job needs beyond JobDeps from the environment (`noPorts` for none).
   * Declared by the job so that a client only its job uses is imported only by that job's
   * modules, and so reaches only that job's bundle.
   */
  ports(env: NodeJS.ProcessEnv): Ports;
  /** The job's logic. `runId` is the audit record's id. */
  run(deps: JobDeps & Ports, input: Input, runId: string): Promise<Omit<Result, 'duration_ms' | 'timestamp'>>;
  /** Adds the job's own EMF metrics for a finished run. */
  recordMetrics(metrics: Metrics, result: Result): void;
  /** Catalog metric that counts a run that threw (what the failure alarm watches). */
  failureMetric: FailureMetricName;
  /** Whether this input is a dry run (recorded on the run). */
  isDryRun(input: Input): boolean;
  /** The run's "now", for the audit record. */
  scheduledTime(input: Input): Date;
}

/** Time kept back from Lambda's deadline to release claims and write the run record. */
export const DEADLINE_MARGIN_MS = 30_000;

export class InputError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'InputError';
  }
}

/** Checks a job's input, naming every bad field; nothing runs on a refusal. */
export function parseJobInput<Input>(def: Pick<JobDefinition<Input, JobResult>, 'name' | 'input'>, event: unknown): Input {
  const parsed = def.input.safeParse(event ?? {});
  if (!parsed.success) {
    const problems = parsed.error.issues.map((i) => (i.path.length ? `${i.path.join('.')}: ${i.message}` : i.message));
    throw new InputError(`invalid ${def.name} input: ${problems.join('; ')}`);
  }
  return parsed.data;
}

/**
 * Builds a job's ports from the environment: configuration (checked), the service-role key
 * (env or Secrets Manager), supabase-js, Logger and Metrics, plus the job's own (`def.ports`,
 * e.g. log-cleanup's S3 client).
 *
 * @example
 * const deps = await createJobDeps(fileCleanupJob);
 */
export async function createJobDeps<Ports extends object>(
  def: Pick<JobDefinition<unknown, JobResult, Ports>, 'name' | 'ports'>,
  options: { env?: NodeJS.ProcessEnv; remainingMs?: () => number } = {},
): Promise<JobDeps & Ports> {
  const env = options.env ?? process.env;
  const config = loadConfig(env);
  const key = await resolveServiceRoleKey(config, env);
  return {
    ...def.ports(env),
    config,
    supabase: createServiceClient(config.supabaseUrl, key),
    logger: createJobLogger(def.name, config.serviceName),
    metrics: createJobMetrics(def.name, config.metricsNamespace, config.serviceName),
    remainingMs: options.remainingMs ?? (() => Number.POSITIVE_INFINITY),
  };
}

/**
 * Runs a job once with its audit record, one structured result line and its EMF metrics.
 * The same function serves the Lambda handler, the CLI and the tests. The input is checked
 * (again, for callers that already did) before the run is recorded: a refusal records nothing.
 *
 * @example
 * const result = await runJob(fileCleanupJob, await createJobDeps(fileCleanupJob), { dryRun: true });
 */
export async function runJob<Input, Result extends JobResult, Ports extends object>(
  def: JobDefinition<Input, Result, Ports>,
  deps: JobDeps & Ports,
  given: Input,
): Promise<Result> {
  const started = Date.now();
  const input = parseJobInput(def, given);
  const dryRun = def.isDryRun(input);
  const runId = must<string>('export_ops_start_run', await deps.supabase.rpc('export_ops_start_run', {
    p_job: def.name,
    p_scheduled_time: def.scheduledTime(input).toISOString(),
    p_dry_run: dryRun,
  }));
  try {
    if (!dryRun) {
      const backfill = await advanceBackfill(deps.supabase, deps.remainingMs);
      if (backfill.rows > 0 || !backfill.done) deps.logger.info('backfill of rows written before export-ops', { ...backfill });
    }
    const partial = await def.run(deps, input, runId);
    const result = { ...partial, duration_ms: Date.now() - started, timestamp: new Date().toISOString() } as Result;
    const status = result.more ? 'partial' : 'succeeded';
    must('export_ops_finish_run', await deps.supabase.rpc('export_ops_finish_run', { p_run_id: runId, p_status: status, p_result: result }));
    deps.logger.info(`${def.name} finished`, { run_id: runId, result });
    if (!dryRun) def.recordMetrics(deps.metrics, result);
    emit(deps.metrics, METRICS.JobDurationMs, result.duration_ms);
    return result;
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    deps.logger.error(`${def.name} failed`, { run_id: runId, error: message });
    emit(deps.metrics, METRICS[def.failureMetric], 1);
    await deps.supabase.rpc('export_ops_finish_run', { p_run_id: runId, p_status: 'failed', p_error: message });
    throw error;
  } finally {
    deps.metrics.publishStoredMetrics();
  }
}
