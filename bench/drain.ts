import { Template } from 'aws-cdk-lib/assertions';
import { handler as fileCleanupHandler } from '../lambdas/file-cleanup/handler';
import { seedExports } from '../local/seed';
import { exportOpsStack } from '../test/lib/helpers';
// The drain tests' Step Functions stand-ins: the synthesized definition on the interpreter, the
// real handler as its Lambda task (test/support/sfn/, used here unchanged).
import { stateMachineDefinitions } from '../test/support/sfn/definitions';
import { LambdaService } from '../test/support/sfn/lambda-service';
import { LocalStepFunctions } from '../test/support/sfn/local-step-functions';
import type { BenchOptions } from './main';
import { print, settleServer, startBenchStack } from './support';

/** Injected latency of every Storage remove() (real Storage: 1.2-4.5 s for 1000 names). */
const REMOVE_LATENCY_MS = 1_000;
/** Each invocation's budget: a drain takes several invocations per worker, as in Lambda with a long backlog. */
const BUDGET_MS = 20_000;
const WORKER_COUNTS = [1, 2, 4];

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

/** One drain of `files` due files with `workers` workers: seconds from the tick to the drain's end. */
async function drainOnce(options: BenchOptions, files: number, workers: number): Promise<{ seconds: number; invocations: number }> {
  const machines = stateMachineDefinitions(Template.fromStack(exportOpsStack({}, { fileCleanupWorkers: String(workers) })));
  const m = machines['file-cleanup'];
  const stack = await startBenchStack(options.databaseUrl);
  const saved = { ...process.env };
  try {
    await seedExports({ db: stack.db, storageDir: stack.storageDir, supabaseUrl: stack.supabase.url },
      { count: files, mix: 'expired-files', malformed: false, now: new Date(Date.now() - 60_000) });
    await settleServer(options.databaseUrl);
    Object.assign(process.env, stack.env, { POWERTOOLS_LOG_LEVEL: 'ERROR', POWERTOOLS_METRICS_DISABLED: 'true' });
    stack.supabase.faults.add({ method: 'DELETE', path: '/storage/v1/object/exports', times: Number.POSITIVE_INFINITY, fault: { delay: REMOVE_LATENCY_MS } });
    const lambda = new LambdaService({ [m.functionArn]: { handler: fileCleanupHandler, budgetMs: BUDGET_MS } });
    const sfn = new LocalStepFunctions(lambda.invoke).define(m.drainArn, m.drain).define(m.tickArn, m.tick);
    const started = process.hrtime.bigint();
    sfn.startExecution(m.tickArn, 'bench', { scheduledTime: new Date(Date.now() - 30_000).toISOString().replace(/\.\d+Z$/, 'Z') });
    const tick = sfn.execution(m.tickArn, 'bench');
    await tick.done;
    const drain = sfn.execution(m.drainArn, (tick.output as { name: string }).name);
    await drain.done;
    if (drain.status !== 'SUCCEEDED') throw drain.error ?? new Error(`drain ${drain.status}`);
    const seconds = Number(process.hrtime.bigint() - started) / 1e9;
    const { rows: [{ n }] } = await stack.db.query<{ n: number }>(`select count(*)::int as n from public.export_logs where status = 'completed'`);
    if (n !== 0) throw new Error(`${n} rows left completed after the drain`);
    return { seconds, invocations: lambda.invocations.length };
  } finally {
    process.env = saved;
    await stack.stop();
  }
}

/**
 * Drain time of a file backlog with 1, 2 and 4 workers on the local stack, every remove()
 * delayed 1 s through the fault hook (the job is latency bound in production, not CPU bound):
 * median and min-max of 3 runs, speed-up per worker count, projected hours for 10M files.
 */
export async function bench(options: BenchOptions): Promise<void> {
  const files = options.quick ? 10_000 : 100_000;
  const runs = 3;
  print('files per drain, remove() latency, invocation budget', `${files}, ${REMOVE_LATENCY_MS} ms, ${BUDGET_MS / 1000} s`);
  let single = 0;
  for (const workers of WORKER_COUNTS) {
    const seconds: number[] = [];
    let invocations = 0;
    for (let r = 0; r < runs; r += 1) {
      const run = await drainOnce(options, files, workers);
      seconds.push(run.seconds);
      invocations = run.invocations;
    }
    const mid = median(seconds);
    const rate = files / mid;
    if (workers === 1) single = rate;
    print(`${workers} worker(s): drain s, median (min-max) of ${runs}`, `${mid.toFixed(1)} (${Math.min(...seconds).toFixed(1)}-${Math.max(...seconds).toFixed(1)}), ${invocations} invocations`);
    print(`${workers} worker(s): files/s; speed-up vs 1 worker (aim at 4: >= 3.5x)`, `${rate.toFixed(0)}; ${(rate / single).toFixed(2)}x`);
    print(`${workers} worker(s): projected hours to drain 10M files at this rate`, (10_000_000 / rate / 3600).toFixed(2));
  }
}
