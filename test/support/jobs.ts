import { fileCleanupJob } from '../../lambdas/file-cleanup/job';
import { logCleanupJob } from '../../lambdas/log-cleanup/job';
import { metricsAggregateJob } from '../../lambdas/metrics-aggregate/job';
import { createJobDeps, type DepsOf as JobDepsOf, type JobDefinition, type JobResult } from '../../lambdas/shared/job';
import type { JobName } from '../../lambdas/shared/observability';
import type { LocalStack } from '../../local/stack';

const DEFINITIONS = { 'file-cleanup': fileCleanupJob, 'log-cleanup': logCleanupJob, 'metrics-aggregate': metricsAggregateJob } satisfies Record<JobName, unknown>;

/** The ports a job runs over: the common ones plus what its definition declares (log-cleanup: parts and archive stores). */
export type DepsOf<N extends JobName> = JobDepsOf<(typeof DEFINITIONS)[N]>;

/**
 * The ports a job gets in Lambda, built the same way against a local stack: real supabase-js
 * over HTTP, Powertools Logger and Metrics, and the job's own (log-cleanup: a real S3 client).
 *
 * @example
 * const deps = await jobDepsFor(stack, 'file-cleanup', { FILE_GRACE_HOURS: '2' });
 */
export function jobDepsFor<N extends JobName>(
  stack: LocalStack,
  job: N,
  env: Record<string, string> = {},
  remainingMs?: () => number,
): Promise<DepsOf<N>> {
  const def: Pick<JobDefinition<unknown, JobResult, object>, 'name' | 'ports'> = DEFINITIONS[job];
  return createJobDeps(def, { env: { ...stack.env, ...env }, remainingMs }) as Promise<DepsOf<N>>;
}

/** The suite's one stdout capture, also importable from here (where it used to live). */
export { captureStdout } from './output';
