import type { Logger } from '@aws-lambda-powertools/logger';
import * as z from 'zod';
import { advanceBackfill } from './backfill';
import { notAheadDateTime } from './clock';
import { loadConfig, type ExportOpsConfig } from './config';
import { emit, type FailureMetricName, METRICS } from './metric-catalog';
import { createJobLogger, createJobMetrics, type JobName } from './observability';
import { type Clock, type MetricsSink, type ProgressSink, type RunLedger, systemClock } from './ports';
import { createServiceClient, resolveServiceRoleKey, type ServiceClient, SupabaseRunLedger } from './supabase';

/**
 * The ports every job runs over; the handler, the CLI and the tests all build the same ones.
 * No raw client is here: each job declares its own ports (`JobDefinition.ports`, e.g.
 * lambdas/file-cleanup/ports.ts) and builds their adapters from {@link JobClients}, so its logic
 * sees only its ports and no other job's bundle imports its client (log-cleanup's S3).
 */
export interface JobDeps {
  config: ExportOpsConfig;
  logger: Logger;
  metrics: MetricsSink;
  clock: Clock;
  /** The audit record of runs and the backfill (export_ops' run functions in Lambda). */
  runs: RunLedger;
  /** Milliseconds before the job must stop taking new work (Lambda's remaining time, less a margin). */
  remainingMs(): number;
  /** How far the job got, as it goes (the CLI's progress counter); none in Lambda. */
  progress?: ProgressSink;
}

/** What a job's adapters are built from (`JobDefinition.ports`). */
export interface JobClients {
  env: NodeJS.ProcessEnv;
  config: ExportOpsConfig;
  /** One supabase-js client (service role) per set of deps, shared by every adapter over it. */
  supabase: ServiceClient;
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
   * Builds the adapters of the ports this job needs beyond JobDeps (`noPorts` for none).
   * Declared by the job so that a client only its job uses is imported only by that job's
   * modules, and so reaches only that job's bundle.
   */
  ports(clients: JobClients): Ports;
  /** The job's logic. `runId` is the audit record's id. */
  run(deps: JobDeps & Ports, input: Input, runId: string): Promise<Omit<Result, 'duration_ms' | 'timestamp'>>;
  /** Adds the job's own EMF metrics for a finished run. */
  recordMetrics(metrics: MetricsSink, result: Result): void;
  /** Catalog metric that counts a run that threw (what the failure alarm watches). */
  failureMetric: FailureMetricName;
  /** Whether this input is a dry run (recorded on the run). */
  isDryRun(input: Input): boolean;
  /** The run's "now", for the audit record. */
  scheduledTime(input: Input): Date;
}

/** The deps a job's logic gets: JobDeps and the ports its definition builds. */
export type DepsOf<Def> = Def extends { ports(clients: JobClients): infer Ports } ? JobDeps & Ports : never;

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
 * (env or Secrets Manager), the run ledger over supabase-js, Logger, Metrics and the clock, plus
 * the job's own adapters (`def.ports`, e.g. log-cleanup's parts store and S3 archive store).
 *
 * @example
 * const deps = await createJobDeps(fileCleanupJob);
 */
export async function createJobDeps<Ports extends object>(
  def: Pick<JobDefinition<unknown, JobResult, Ports>, 'name' | 'ports'>,
  options: { env?: NodeJS.ProcessEnv; remainingMs?: () => number; progress?: ProgressSink } = {},
): Promise<JobDeps & Ports> {
  const env = options.env ?? process.env;
  const config = loadConfig(env);
  const key = await resolveServiceRoleKey(config, env);
  const supabase = createServiceClient(config.supabaseUrl, key);
  return {
    ...def.ports({ env, config, supabase }),
    config,
    logger: createJobLogger(def.name, config.serviceName),
    metrics: createJobMetrics(def.name, config.metricsNamespace, config.serviceName),
    clock: systemClock,
    runs: new SupabaseRunLedger(supabase),
    remainingMs: options.remainingMs ?? (() => Number.POSITIVE_INFINITY),
    progress: options.progress,
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
  const started = deps.clock.now().getTime();
  const input = parseJobInput(def, given);
  const dryRun = def.isDryRun(input);
  const runId = await deps.runs.start({ job: def.name, scheduledTime: def.scheduledTime(input), dryRun });
  try {
    if (!dryRun) {
      const backfill = await advanceBackfill(deps.runs, deps.remainingMs);
      if (backfill.rows > 0 || !backfill.done) deps.logger.info('backfill of rows written before export-ops', { ...backfill });
    }
    const partial = await def.run(deps, input, runId);
    const end = deps.clock.now();
    const result = { ...partial, duration_ms: end.getTime() - started, timestamp: end.toISOString() } as Result;
    await deps.runs.finish(runId, { status: result.more ? 'partial' : 'succeeded', result });
    deps.logger.info(`${def.name} finished`, { run_id: runId, result });
    if (!dryRun) def.recordMetrics(deps.metrics, result);
    emit(deps.metrics, METRICS.JobDurationMs, result.duration_ms);
    return result;
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    deps.logger.error(`${def.name} failed`, { run_id: runId, error: message });
    emit(deps.metrics, METRICS[def.failureMetric], 1);
    // Best effort: the run's own error is what the caller must see.
    await deps.runs.finish(runId, { status: 'failed', error: message }).catch(() => undefined);
    throw error;
  } finally {
    deps.metrics.publishStoredMetrics();
  }
}
