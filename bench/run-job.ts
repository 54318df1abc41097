import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import type { JobName } from '../lambdas/shared/observability';
import { JOB_PROCESS_ENV } from '../lib/scheduled-job';
import { synthesizeBundles } from '../test/lib/bundles';
import { median, spread } from './support';

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
      // On Linux, what the resident memory is at the end: the heap and buffers (anonymous) or
      // mapped files, the node binary's pages among them (file-backed).
      let rssAtExit;
      try {
        const kb = (name) => Number(/\\d+/.exec(require('fs').readFileSync('/proc/self/status', 'utf8').split('\\n').find((l) => l.startsWith(name + ':')))[0]);
        rssAtExit = { anonMb: Math.round(kb('RssAnon') / 1024), fileMb: Math.round(kb('RssFile') / 1024) };
      } catch {}
      process.stdout.write('\\n' + JSON.stringify({ bench: { result, ms: performance.now() - started,
        rssMb: Math.round(used.maxRSS / 1024), rssAtExit, cpuMs: (used.userCPUTime + used.systemCPUTime) / 1e3 } }) + '\\n');
    })
    .catch((error) => { process.stderr.write(String(error && error.stack || error)); process.exit(1); });`;

/** What one invocation answered and cost, measured in its own process. */
export interface BundleRun<Result> {
  result: Result;
  /** Wall time of the handler call, module load excluded. */
  ms: number;
  /** Peak resident memory of the process, start-up included. */
  rssMb: number;
  /** Resident memory when the handler returned, anonymous and file-backed (Linux only). */
  rssAtExit?: { anonMb: number; fileMb: number };
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

/**
 * Peak RSS of several runs, as the benches print it: median [min–max], then (on Linux) the
 * median split at exit into anonymous and file-backed memory, which tells the job's own growth
 * from pages of mapped files that the kernel counts in its RSS too.
 *
 * @example
 * print('job peak RSS MB', peakRssFigure(runs)); // "99 [99–99] (at exit: 46 anonymous, 54 file-backed)"
 */
export function peakRssFigure(runs: Pick<BundleRun<unknown>, 'rssMb' | 'rssAtExit'>[]): string {
  const split = runs.map((r) => r.rssAtExit).filter((r) => r !== undefined);
  const atExit = split.length === runs.length
    ? ` (at exit: ${median(split.map((r) => r.anonMb))} anonymous, ${median(split.map((r) => r.fileMb))} file-backed)` : '';
  return `${spread(runs.map((r) => r.rssMb))}${atExit}`;
}
