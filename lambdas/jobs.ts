import { fileCleanupJob } from './file-cleanup/job';
import { logCleanupJob } from './log-cleanup/job';
import { metricsAggregateJob } from './metrics-aggregate/job';
import type { JobDefinition, JobResult } from './shared/job';
import type { JobName } from './shared/observability';

/** A job whose input type the caller does not know: the job's own schema checks the input. */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type AnyJob = JobDefinition<any, JobResult, any>;

/**
 * Every job by name: what the CLI, `npm start` and the benchmarks run. (Each Lambda handler
 * imports only its own job, so a bundle carries one job.)
 */
export const JOBS: Record<JobName, AnyJob> = {
  'file-cleanup': fileCleanupJob,
  'log-cleanup': logCleanupJob,
  'metrics-aggregate': metricsAggregateJob,
};
