import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { join } from 'node:path';
import { Template } from 'aws-cdk-lib/assertions';
import { handler as fileCleanupHandler } from '../../lambdas/file-cleanup/handler';
import { handler as logCleanupHandler } from '../../lambdas/log-cleanup/handler';
import { DEADLINE_MARGIN_MS } from '../../lambdas/shared/job';
import { seedExports } from '../../local/seed';
import type { LocalStack } from '../../local/stack';
import { eligibleIds, expectArchivedExactlyOnce, NOW, seedHistory, snapshot } from '../lambdas/log-cleanup/support';
import { type DrainMachines, stateMachineDefinitions } from '../support/sfn/definitions';
import { LambdaService } from '../support/sfn/lambda-service';
import { LocalStepFunctions, StatesError } from '../support/sfn/local-step-functions';
import { databaseMode, startTestStack } from '../support/stack';
import { exportOpsStack } from './helpers';

/**
 * The drain and tick state machines, as synthesized, executed by a real Step Functions
 * interpreter (aws-local-stepfunctions) whose Lambda tasks run the real handlers against the
 * local stack, each invocation with a small time budget so a drain takes many of them.
 *
 * Sizes: the 50,000 files and 200,000 log rows on the PostgreSQL pass (DATABASE_URL);
 * 2,000 files and 5,000 rows on the PGlite pass, which runs every query on one embedded backend and would spend
 * minutes on the full size (the logic under test is the same).
 */
const FULL = databaseMode === 'postgres';
const FILES = FULL ? 50_000 : 2_000;
const LOG_ROWS = FULL ? 200_000 : 5_000;
const WORKERS = 4;
/** Iteration cap of the synthesized stack: above what the big drain needs per worker, low enough for the cap test. */
const MAX_ITERATIONS = 40;
/** The file cleanup's budget per invocation (after Lambda's margin): a batch or two each. */
const FILE_BUDGET_MS = 800;
/**
 * Files an invocation of the first test may take on the PGlite size (a manual run's `maxFiles`).
 * Its 2,000 files are two claims of 1,000: on a fast machine two workers each drained one claim
 * within the budget and stopped, and the drain's loop (more: true, run again) never ran. 250
 * makes it need at least eight invocations with work, whatever the machine's speed.
 */
const SMALL_INVOCATION_FILES = FULL ? undefined : 250;
/**
 * The log cleanup takes no new part with less than 60 s left (partTimeReserveMs). The budget
 * past that reserve is what an invocation spends on parts: on the full size 5 s, a part or two
 * each (with 0.3 s its stats query on 200,000 rows alone used up the margin and every
 * invocation answered more: true without progress, until the cap); on the small PGlite size
 * 0.3 s, so that its few thousand rows still take several invocations.
 */
const LOG_BUDGET_MS = FULL ? 65_000 : 60_300;
/**
 * The file lease of the first test, which kills nothing and checks that no worker stops while
 * work is left. The job relies on a lease outlasting the batch it covers (by default 900 s, as
 * long as a whole invocation may run): a claim that finds every due row leased ends its worker,
 * since the holders are alive and finish them. The crash tests' 1 s lease breaks that on purpose;
 * on a slow machine (a batch took 1.8 s) it let a live worker's rows lapse to another worker
 * after some worker had found none left, and the first test failed.
 */
const UNBROKEN_LEASE_SECONDS = '60';
const CRASH_LEASE_SECONDS = '1';
const CHILD = join(__dirname, '..', 'support', 'sfn', 'invoke-in-child.ts');
const FILE_HANDLER = join(__dirname, '..', '..', 'lambdas', 'file-cleanup', 'handler.ts');
const REMOVE = { method: 'DELETE', path: '/storage/v1/object/exports' };

/** A Lambda context leaving the job `ms` of budget (the handler keeps DEADLINE_MARGIN_MS back). */
function budget(ms: number) {
  const started = Date.now();
  return { getRemainingTimeInMillis: () => ms + DEADLINE_MARGIN_MS - (Date.now() - started) };
}
const usedTicks = new Set<string>();
/**
 * A scheduled time `backMs` before now, to the second, that no earlier test of this file used:
 * the tick names the drain after it, so a repeated time would find the earlier test's execution
 * (on a loaded machine, tests seconds apart with different offsets hit the same second).
 */
function freshScheduledTime(backMs: number): string {
  for (let t = Date.now() - backMs; ; t -= 1000) {
    const time = new Date(t).toISOString().replace(/\.\d+Z$/, 'Z');
    if (!usedTicks.has(time)) {
      usedTicks.add(time);
      return time;
    }
  }
}
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
async function waitFor(what: string, check: () => boolean, timeoutMs = 60_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(20);
  }
}

/** Test-only triggers: every storage object deleted and every row marked expired, one line each. */
const TALLY_SQL = `
  create schema if not exists test_tally;
  create table test_tally.removed (name text not null);
  create table test_tally.expired (id uuid not null);
  create function test_tally.removed() returns trigger language plpgsql security definer as $$
    begin insert into test_tally.removed select o.name from old_rows o where o.bucket_id = 'exports'; return null; end $$;
  create function test_tally.expired() returns trigger language plpgsql security definer as $$
    begin insert into test_tally.expired values (new.id); return null; end $$;
  create trigger test_tally_removed after delete on storage.objects referencing old table as old_rows
    for each statement execute function test_tally.removed();
  create trigger test_tally_expired after update on public.export_logs
    for each row when (old.status is distinct from 'expired' and new.status = 'expired') execute function test_tally.expired();`;

describe(`drains on Step Functions, executed locally (${databaseMode}; ${FILES} files, ${LOG_ROWS} log rows)`, () => {
  let stack: LocalStack;
  let machines: Record<string, DrainMachines>;
  let lambda: LambdaService;
  let sfn: LocalStepFunctions;
  const savedEnv = { ...process.env };

  const one = async (sql: string, params: unknown[] = []) => (await stack.db.query<{ n: number }>(sql, params)).rows[0].n;
  /** Starts the job's tick machine as the schedule does; resolves to the tick's output and the drain it started or found. */
  async function tick(job: string, scheduledTime: string) {
    const m = machines[job];
    const name = `tick-${Math.random().toString(36).slice(2)}`;
    sfn.startExecution(m.tickArn, name, { scheduledTime });
    const execution = sfn.execution(m.tickArn, name);
    await execution.done;
    if (execution.status !== 'SUCCEEDED') throw execution.error;
    return execution.output as { outcome: string; name: string; executionArn?: string };
  }
  async function drained(job: string, name: string) {
    const execution = sfn.execution(machines[job].drainArn, name);
    await execution.done;
    return execution;
  }
  async function seedDueFiles(count: number, seed: number) {
    const before = await one(`select count(*)::int as n from public.export_logs`);
    await seedExports({ db: stack.db, storageDir: stack.storageDir, supabaseUrl: stack.supabase.url },
      { count, mix: 'expired-files', malformed: false, seed, now: new Date(Date.now() - 60_000) });
    return (await one(`select count(*)::int as n from public.export_logs`)) - before;
  }

  beforeAll(async () => {
    // Synthesized once for the file: the drains as deployed, with 4 file-cleanup workers.
    machines = stateMachineDefinitions(Template.fromStack(exportOpsStack({}, {
      fileCleanupWorkers: String(WORKERS), drainMaxIterations: String(MAX_ITERATIONS),
    })));
    stack = await startTestStack();
    await stack.db.exec(TALLY_SQL);
    // The handlers read their configuration from the environment, as in Lambda, on every
    // invocation. Leases of 1 s, so a killed invocation's claims come back within the test.
    Object.assign(process.env, stack.env, { FILE_CLAIM_LEASE_SECONDS: CRASH_LEASE_SECONDS, LOG_PART_LEASE_SECONDS: '1', POWERTOOLS_LOG_LEVEL: 'WARN' });
    lambda = new LambdaService({
      [machines['file-cleanup'].functionArn]: { handler: fileCleanupHandler, budgetMs: FILE_BUDGET_MS },
      [machines['log-cleanup'].functionArn]: { handler: logCleanupHandler, budgetMs: LOG_BUDGET_MS },
    });
    // RunJob's retriers: Lambda service errors at once, a crashed invocation after 1.5 s (> the lease).
    sfn = new LocalStepFunctions(lambda.invoke, { RunJob: [0, 1500] });
    for (const m of Object.values(machines)) sfn.define(m.drainArn, m.drain).define(m.tickArn, m.tick);
  }, 120_000);
  afterAll(async () => {
    process.env = savedEnv;
    await stack?.stop();
  });
  afterEach(() => {
    process.env.FILE_CLAIM_LEASE_SECONDS = CRASH_LEASE_SECONDS;
    lambda.override = undefined;
    stack.supabase.faults.clear();
  });

  test(`${FILES} due files drained in one execution by ${WORKERS} workers: every file removed once, every row expired once`, async () => {
    process.env.FILE_CLAIM_LEASE_SECONDS = UNBROKEN_LEASE_SECONDS;
    const seeded = await seedDueFiles(FILES, 11);
    expect(seeded).toBe(FILES);
    // The real handler, counted: how many invocations run at once.
    let inFlight = 0;
    let maxInFlight = 0;
    const spans: { started: number; ended: number; found: number; more: boolean }[] = [];
    lambda.override = (invocation) => {
      inFlight += 1;
      maxInFlight = Math.max(maxInFlight, inFlight);
      const started = performance.now();
      const payload = { ...(invocation.payload as object), ...(SMALL_INVOCATION_FILES && { maxFiles: SMALL_INVOCATION_FILES }) };
      return fileCleanupHandler(payload, budget(FILE_BUDGET_MS)).then((result) => {
        const { total_found: found, more } = result as { total_found: number; more: boolean };
        spans.push({ started, ended: performance.now(), found, more: more === true });
        return result;
      }).finally(() => { inFlight -= 1; });
    };
    const first = lambda.invocations.length;
    const scheduledTime = freshScheduledTime(30_000);
    const started = await tick('file-cleanup', scheduledTime);
    expect(started.outcome).toBe('started');
    // Named after the scheduled time, without its colons.
    expect(started.name).toBe(scheduledTime.replace(/:/g, ''));
    const execution = await drained('file-cleanup', started.name);
    expect(execution.error).toBeUndefined();
    expect(maxInFlight).toBe(WORKERS);
    // No worker stopped while work was left: nothing started after a worker's last invocation
    // (more: false) found rows. (A claim racing another's used to come back empty, and its
    // worker stopped early; the others then drained alone.)
    const stops = spans.filter((s) => !s.more);
    expect(stops).toHaveLength(WORKERS);
    for (const stop of stops) expect(spans.filter((s) => s.started > stop.ended && s.found > 0)).toEqual([]);
    expect(execution.status).toBe('SUCCEEDED');
    const invocations = lambda.invocations.slice(first);
    // Every worker ended drained (more: false), none at a cap.
    expect(execution.output).toEqual(Array.from({ length: WORKERS }, () => expect.objectContaining({ more: false })));
    expect(sfn.metricData).toEqual([]);
    // The drain looped: some worker ran again after an invocation that left work (more: true).
    expect(spans.filter((s) => s.more).length).toBeGreaterThan(0);
    expect(invocations.length).toBeGreaterThan(WORKERS);
    expect(invocations.every((i) => i.error === undefined)).toBe(true);
    expect(invocations.reduce((sum, i) => sum + (i.result as { deleted_count: number }).deleted_count, 0)).toBe(FILES);

    expect(await one(`select count(*)::int as n from test_tally.removed`)).toBe(FILES);
    expect(await one(`select count(distinct name)::int as n from test_tally.removed`)).toBe(FILES);
    expect(await one(`select count(*)::int as n from test_tally.expired`)).toBe(FILES);
    expect(await one(`select count(distinct id)::int as n from test_tally.expired`)).toBe(FILES);
    expect(await one(`select count(*)::int as n from storage.objects where bucket_id = 'exports'`)).toBe(0);
    expect(await one(`select count(*)::int as n from public.export_logs where status = 'completed'`)).toBe(0);
  });

  test('a worker killed mid-batch (after its remove() was served) is retried: nothing lost, nothing removed twice', async () => {
    await stack.db.query('truncate test_tally.removed, test_tally.expired');
    const count = 2_000;
    expect(await seedDueFiles(count, 12)).toBe(count);
    const first = lambda.invocations.length;
    let killed = false;
    // The drain's second invocation runs in a process of its own, killed while its remove() is
    // frozen after Storage deleted the objects: Lambda reports the dead runtime as Runtime.ExitError.
    lambda.override = (invocation) => {
      if (invocation.n !== first + 2) return undefined;
      return (async () => {
        const fault = stack.supabase.faults.add({ ...REMOVE, when: 'after', fault: { hang: true, ms: 10_000 } });
        const child = spawn(process.execPath, [require.resolve('tsx/cli'), CHILD, FILE_HANDLER, JSON.stringify(invocation.payload), '60000'], {
          env: { ...process.env, POWERTOOLS_LOG_LEVEL: 'ERROR' }, stdio: 'ignore',
        });
        const exited = once(child, 'exit');
        await waitFor('a remove() to be frozen', () => fault.injected >= 1 || child.exitCode !== null);
        killed = child.exitCode === null;
        child.kill('SIGKILL');
        await exited;
        fault.remove();
        throw new StatesError('Runtime.ExitError', 'RequestId: test Error: Runtime exited with error: signal: killed');
      })();
    };
    const started = await tick('file-cleanup', freshScheduledTime(20_000));
    const execution = await drained('file-cleanup', started.name);
    expect(killed).toBe(true);
    expect(execution.error).toBeUndefined();
    expect(execution.status).toBe('SUCCEEDED');
    const invocations = lambda.invocations.slice(first);
    expect(invocations[1].error).toBe('Runtime.ExitError');
    // Every due file removed once and its row expired once (the crashed batch's objects were
    // gone already: its rerun found them absent and marked their rows).
    expect(await one(`select count(*)::int as n from test_tally.removed`)).toBe(count);
    expect(await one(`select count(distinct name)::int as n from test_tally.removed`)).toBe(count);
    expect(await one(`select count(distinct id)::int as n from test_tally.expired`)).toBe(count);
    expect(await one(`select count(*)::int as n from test_tally.expired`)).toBe(count);
    expect(invocations.reduce((sum, i) => sum + ((i.result as { already_gone_count?: number } | undefined)?.already_gone_count ?? 0), 0)).toBeGreaterThan(0);
    expect(await one(`select count(*)::int as n from public.export_logs where status = 'completed'`)).toBe(0);
  });

  test('a second start of the same tick is refused: after the drain ended, and while it runs', async () => {
    const scheduledTime = freshScheduledTime(10_000);
    const first = await tick('file-cleanup', scheduledTime);
    expect(first.outcome).toBe('started');
    await drained('file-cleanup', first.name);
    const invocations = lambda.invocations.length;
    // A Scheduler retry or redelivery of the same tick, after the drain closed.
    const again = await tick('file-cleanup', scheduledTime);
    expect(again).toMatchObject({ outcome: 'tick already started', name: first.name });
    expect(sfn.starts.at(-1)).toEqual({ name: first.name, answer: 'ExecutionAlreadyExists' });
    expect(lambda.invocations.length).toBe(invocations);

    // The next tick while a drain still runs: it ends at once, recorded as such.
    let release!: () => void;
    const held = new Promise<void>((resolve) => { release = resolve; });
    lambda.override = (invocation) => held.then(() => fileCleanupHandler(invocation.payload, budget(FILE_BUDGET_MS)));
    const later = freshScheduledTime(5_000);
    const running = await tick('file-cleanup', later);
    expect(running.outcome).toBe('started');
    const skipped = await tick('file-cleanup', freshScheduledTime(0));
    expect(skipped.outcome).toBe('skipped: previous drain running');
    release();
    expect((await drained('file-cleanup', running.name)).status).toBe('SUCCEEDED');
  });

  test('a job error fails the execution at once (no retry); the job\'s own failure is what Step Functions reports', async () => {
    await seedDueFiles(50, 13);
    stack.supabase.faults.add({ method: 'POST', path: '/rest/v1/rpc/export_ops_claim_files', times: 10_000, fault: { status: 500 } });
    const first = lambda.invocations.length;
    const started = await tick('file-cleanup', freshScheduledTime(40_000));
    const execution = await drained('file-cleanup', started.name);
    expect(execution.status).toBe('FAILED');
    expect(execution.error?.name).toBe('Error');
    // One failed invocation per worker at most (the Map stops the others), none retried.
    expect(lambda.invocations.length - first).toBeLessThanOrEqual(WORKERS);
  });

  test('Lambda throttles are retried inside the state machine', async () => {
    await seedDueFiles(100, 14);
    const first = lambda.invocations.length;
    lambda.override = (invocation) => (invocation.n <= first + 3
      ? Promise.reject(new StatesError('Lambda.TooManyRequestsException', 'Rate Exceeded.')) : undefined);
    const started = await tick('file-cleanup', freshScheduledTime(50_000));
    const execution = await drained('file-cleanup', started.name);
    expect(execution.error).toBeUndefined();
    expect(execution.status).toBe('SUCCEEDED');
    expect(lambda.invocations.slice(first, first + 3).map((i) => i.error)).toEqual(Array(3).fill('Lambda.TooManyRequestsException'));
  });

  test(`a drain that reaches its iteration cap (${MAX_ITERATIONS}) with work left ends each worker with DrainCapReached`, async () => {
    await seedDueFiles(100, 15);
    // No budget: each invocation stops before its first batch and answers more: true.
    lambda.override = (invocation) => fileCleanupHandler(invocation.payload, budget(-DEADLINE_MARGIN_MS));
    const first = lambda.invocations.length;
    const started = await tick('file-cleanup', freshScheduledTime(60_000));
    const execution = await drained('file-cleanup', started.name);
    expect(execution.status).toBe('SUCCEEDED');
    expect(execution.output).toEqual(Array(WORKERS).fill(expect.objectContaining({ more: true, iteration: MAX_ITERATIONS })));
    expect(lambda.invocations.length - first).toBe(WORKERS * MAX_ITERATIONS);
    expect(sfn.metricData).toEqual(Array(WORKERS).fill({
      Namespace: 'ExportOps',
      MetricData: [{ MetricName: 'DrainCapReached', Unit: 'Count', Value: 1, Dimensions: [{ Name: 'Job', Value: 'file-cleanup' }] }],
    }));
  });
  test(`a ${LOG_ROWS}-row log history archived and deleted in one sequential execution, nothing lost or doubled`, async () => {
    await seedHistory(stack, LOG_ROWS, 5);
    const before = await snapshot(stack);
    const eligible = await eligibleIds(stack);
    expect(eligible.length).toBeGreaterThan(LOG_ROWS / 4);
    const first = lambda.invocations.length;
    const started = await tick('log-cleanup', NOW.toISOString());
    const execution = await drained('log-cleanup', started.name);
    expect(execution.error).toBeUndefined();
    const invocations = lambda.invocations.slice(first);
    expect(execution.output).toMatchObject({ more: false });
    // At least one continuation: the first invocation's budget ran out with parts left.
    expect(invocations.length).toBeGreaterThanOrEqual(2);
    expect(invocations.every((i) => i.error === undefined)).toBe(true);
    await expectArchivedExactlyOnce(stack, before, eligible);
    // 200,000 rows on the PostgreSQL pass: seeding, a few parts per invocation and the archive's
    // full check passed 180 s (the suite's default) on this 2-core machine on a slow day.
  }, FULL ? 480_000 : undefined);
});
