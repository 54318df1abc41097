import type { Context } from 'aws-lambda';
import { createJobDeps, DEADLINE_MARGIN_MS, type JobDefinition, type JobResult, parseJobInput, runJob } from './job';

/**
 * The Lambda adapter for a job: checks the event, builds the ports from the environment and
 * runs the job with Lambda's remaining time as its budget. Nothing else lives here.
 *
 * @example
 * export const handler = createHandler(fileCleanupJob);
 */
export function createHandler<Input, Result extends JobResult>(def: JobDefinition<Input, Result>) {
  return async (event: unknown, context?: Pick<Context, 'getRemainingTimeInMillis'>): Promise<Result> => {
    const input = parseJobInput(def as JobDefinition<Input, JobResult>, event);
    const deps = await createJobDeps(def.name, {
      remainingMs: context ? () => context.getRemainingTimeInMillis() - DEADLINE_MARGIN_MS : undefined,
    });
    return runJob(def, deps, input);
  };
}
