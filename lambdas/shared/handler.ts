import type { Context } from 'aws-lambda';
import { createJobDeps, DEADLINE_MARGIN_MS, type JobDefinition, type JobResult, parseJobInput, runJob } from './job';

/**
 * The Lambda adapter for a job: checks the event, builds the ports from the environment (only
 * those the job declares, so the bundle carries no other client) and runs the job with Lambda's
 * remaining time as its budget. Nothing else lives here.
 *
 * @example
 * export const handler = createHandler(fileCleanupJob);
 */
export function createHandler<Input, Result extends JobResult, Ports extends object>(def: JobDefinition<Input, Result, Ports>) {
  return async (event: unknown, context?: Pick<Context, 'getRemainingTimeInMillis'>): Promise<Result> => {
    const input = parseJobInput(def as Pick<JobDefinition<Input, JobResult>, 'name' | 'input'>, event);
    const deps = await createJobDeps(def, {
      remainingMs: context ? () => context.getRemainingTimeInMillis() - DEADLINE_MARGIN_MS : undefined,
    });
    return runJob(def, deps, input);
  };
}
