import type { Logger } from '@aws-lambda-powertools/logger';
import type { Metrics } from '@aws-lambda-powertools/metrics';
import type { S3Client } from '@aws-sdk/client-s3';
import type { SupabaseClient } from '@supabase/supabase-js';
import { z } from 'zod';
import { advanceBackfill } from './backfill';
import { notAheadDateTime } from './clock';
import { loadConfig, type ExportOpsConfig } from './config';
import { emit, type FailureMetricName, METRICS } from './metric-catalog';
import { createJobLogger, createJobMetrics, type JobName } from './observability';
import { createS3Client } from './s3';
import { createServiceClient, must, resolveServiceRoleKey } from './supabase';

export { must };

/** The ports a job runs over; the handler, the CLI and the tests all build the same ones. */
export interface JobDeps {
  config: ExportOpsConfig;
  supabase: SupabaseClient;
  s3: S3Client;
  logger: Logger;
  metrics: Metrics;
  /** Milliseconds before the job must stop taking new work (Lambda's remaining time, less a margin). */
  remainingMs(): number;
}

/** Fields every job result carries (the seed's names). */
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

export interface JobDefinition<Input, Result extends JobResult> {
  name: JobName;
  /** Strict schema of the event: unknown fields and wrong types are refused before any work. */
  input: z.ZodType<Input>;
  /** The job's logic. `runId` is the audit record's id. */
  run(deps: JobDeps, input: Input, runId: string): Promise<Omit<Result, 'duration_ms' | 'timestamp'>>;
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
 * Builds the job's ports from the environment: configuration (checked), the service-role key
 * (env or Secrets Manager), supabase-js, S3, Logger and Metrics.
 *
 * @example
 * const deps = await createJobDeps('file-cleanup');
 */
export async function createJobDeps(
  job: JobName,
  options: { env?: NodeJS.ProcessEnv; remainingMs?: () => number } = {},
): Promise<JobDeps> {
  const env = options.env ?? process.env;
  const config = loadConfig(env);
  const key = await resolveServiceRoleKey(config, env);
  return {
    config,
    supabase: createServiceClient(config.supabaseUrl, key),
    s3: createS3Client(env),
    logger: createJobLogger(job),
    metrics: createJobMetrics(job, config.metricsNamespace),
    remainingMs: options.remainingMs ?? (() => Number.POSITIVE_INFINITY),
  };
}

/**
 * Runs a job once with its audit record, one structured result line and its EMF metrics.
 * The same function serves the Lambda handler, the CLI and the tests. The input is checked
 * (again, for callers that already did) before the run is recorded: a refusal records nothing.
 *
 * @example
 * const result = await runJob(fileCleanupJob, deps, { dryRun: true });
 */
export async function runJob<Input, Result extends JobResult>(
  def: JobDefinition<Input, Result>,
  deps: JobDeps,
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
