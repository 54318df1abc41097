/**
 * Child-process entry for benchmarks: runs one job against the stack named by the environment
 * and prints `{result, maxRssMb}` as the last line, so the job's own peak memory is measured
 * apart from the local stack that serves it.
 */
import { JOBS } from '../lambdas/jobs';
import { createJobDeps, runJob } from '../lambdas/shared/job';
import type { JobName } from '../lambdas/shared/observability';

async function main(): Promise<void> {
  const [name, inputJson] = process.argv.slice(2);
  const def = JOBS[name as JobName];
  if (!def) throw new Error(`unknown job "${name}"`);
  const deps = await createJobDeps(def);
  const result = await runJob(def, deps, JSON.parse(inputJson ?? '{}'));
  const maxRssMb = Math.round(process.resourceUsage().maxRSS / 1024);
  process.stdout.write(`\n${JSON.stringify({ result, maxRssMb })}\n`);
}

main().catch((error) => {
  process.stderr.write(`${error instanceof Error ? error.stack : String(error)}\n`);
  process.exit(1);
});
