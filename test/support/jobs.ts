import { createJobDeps, type JobDeps } from '../../lambdas/shared/job';
import type { JobName } from '../../lambdas/shared/observability';
import type { LocalStack } from '../../local/stack';

/**
 * The ports a job gets in Lambda, built the same way against a local stack: real supabase-js
 * over HTTP, a real S3 client, Powertools Logger and Metrics.
 *
 * @example
 * const deps = await jobDepsFor(stack, 'file-cleanup', { FILE_GRACE_HOURS: '2' });
 */
export function jobDepsFor(
  stack: LocalStack,
  job: JobName,
  env: Record<string, string> = {},
  remainingMs?: () => number,
): Promise<JobDeps> {
  return createJobDeps(job, { env: { ...stack.env, ...env }, remainingMs });
}

/** Captures what Powertools writes to stdout (EMF documents, log lines) while `fn` runs. */
export async function captureStdout<T>(fn: () => Promise<T>): Promise<{ value: T; lines: string[] }> {
  const lines: string[] = [];
  const original = process.stdout.write.bind(process.stdout);
  process.stdout.write = ((chunk: string | Uint8Array, ...rest: unknown[]) => {
    lines.push(...String(chunk).split('\n').filter(Boolean));
    return (original as (...args: unknown[]) => boolean)(chunk, ...rest);
  }) as typeof process.stdout.write;
  try {
    return { value: await fn(), lines };
  } finally {
    process.stdout.write = original;
  }
}
