import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import type { JobName } from '../lambdas/shared/observability';
import { JOB_PROCESS_ENV } from '../lib/scheduled-job';
import { synthesizeBundles } from '../test/lib/bundles';

const run = promisify(execFile);
/** Lambda's longest budget (15 min): the jobs stop early only when their own work is done. */
const LAMBDA_BUDGET_MS = 900_000;

/**
 * The child's program: loads the synthesized bundle as Lambda does and invokes its handler once
 * with the event (argv[2], JSON), then prints its answer, its time and its own peak RSS and CPU.
 */
const INVOKE_BUNDLE = `
  const { handler } = require(process.argv[1] + '/index.js');
  const started = performance.now();
  handler(JSON.parse(process.argv[2]), { getRemainingTimeInMillis: () => ${LAMBDA_BUDGET_MS} - (performance.now() - started) })
    .then((result) => {
      const used = process.resourceUsage();
      process.stdout.write('\\n' + JSON.stringify({ bench: { result, ms: performance.now() - started,
        rssMb: Math.round(used.maxRSS / 1024), cpuMs: (used.userCPUTime + used.systemCPUTime) / 1e3 } }) + '\\n');
    })
    .catch((error) => { process.stderr.write(String(error && error.stack || error)); process.exit(1); });`;

/** What one invocation answered and cost, measured in its own process. */
export interface BundleRun<Result> {
  result: Result;
  /** Wall time of the handler call, module load excluded. */
  ms: number;
  /** Peak resident memory of the process, start-up included. */
  rssMb: number;
  /** CPU time of the process. */
  cpuMs: number;
}

/**
 * Runs one job as Lambda runs it: the synthesized bundle's handler, with the function's process
 * settings (JOB_PROCESS_ENV), in a child process of its own, so its RSS and CPU are the job's
 * alone and not the local stack's that serves it (the HTTP front and the S3 server live in the
 * bench's process).
 *
 * @example
 * const { result, rssMb } = await invokeBundle('file-cleanup', { scheduledTime }, stack.env);
 */
export async function invokeBundle<Result>(job: JobName, event: object, env: Record<string, string | undefined>): Promise<BundleRun<Result>> {
  const childEnv = { ...process.env, ...env, ...JOB_PROCESS_ENV, AWS_REGION: env.AWS_REGION ?? 'eu-west-1' };
  const { stdout } = await run(process.execPath, ['-e', INVOKE_BUNDLE, synthesizeBundles()[job], JSON.stringify(event)],
    { env: childEnv, maxBuffer: 64 * 1024 * 1024 });
  const line = stdout.split('\n').find((l) => l.startsWith('{"bench"'));
  if (!line) throw new Error(`bench: the ${job} bundle printed no result:\n${stdout.slice(-2000)}`);
  return (JSON.parse(line) as { bench: BundleRun<Result> }).bench;
}
