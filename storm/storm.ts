/**
 * The crash storm: runs a job as a child process on a real PostgreSQL server and the local
 * stack, SIGKILLs it at seeded-random times within its measured duration, waits out the lease,
 * reruns it until a run ends with `more: false`, and checks the end state each time.
 *
 * A kill time t is drawn uniformly from the measured run [0, total). When t falls in the
 * measured start-up (spawn → run record), the kill is timed from the spawn; otherwise it is
 * timed from the moment the child's run record appears, t − start-up later. Anchoring on the
 * run record keeps kills inside the work when a loaded machine stretches node's start-up,
 * which would otherwise push most kills into start-up. The duration is measured again every
 * REMEASURE_EVERY attempts (an uninterrupted, fully checked iteration) and the median of the
 * last three measurements is used, so the draw follows the machine's load.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { createScratchDatabase } from '../local/db/scratch';
import { startLocalStack, type LocalStack } from '../local/stack';
import { prng, runChild, type ChildRun, type KillPlan } from './child-process';
import { addTally, emptyTally, fileCleanupScenario, logCleanupScenario, metricsScenario, problem, type Scenario, type Tally } from './scenarios';

export const STORM_JOBS = ['file-cleanup', 'log-cleanup', 'metrics-aggregate'] as const;
export type StormJob = (typeof STORM_JOBS)[number];

/** Every lease of the storm's children, in seconds (the settings' minimum). */
export const LEASE_SECONDS = 1;
/** Reruns after one kill before the storm gives up on that iteration. */
const MAX_RERUNS = 8;
/** Attempts between two uninterrupted measuring runs: the load of a shared machine drifts. */
const REMEASURE_EVERY = 15;
/** How often the storm looks for a child's run record (a cheap count on an indexed column). */
const RUN_RECORD_POLL_MS = 15;

export interface StormOptions {
  serverUrl: string;
  /** Mid-work kills to land. */
  kills: number;
  seed: number;
  /** Kill attempts before stopping short of `kills`. @default kills * 4 + 10 */
  maxAttempts?: number;
  /** The control: run a deliberately broken build. */
  broken?: 'mark-before-remove';
  /** Work per iteration (files, log rows, metric hours). @default per job */
  size?: number;
  log?: (line: string) => void;
}

export interface StormReport {
  job: StormJob;
  seed: number;
  work: string;
  /** The first uninterrupted run's duration. */
  measuredMs: number;
  /** Uninterrupted (measuring) runs, and the median duration of the last three of them. */
  measuringRuns: number;
  latestMedianMs: number;
  attempts: number;
  midWorkKills: number;
  startupKills: number;
  afterEndKills: number;
  reruns: number;
  failedReruns: number;
  lost: number;
  doubled: number;
  duplicates: number;
  problems: Map<string, number>;
  /** What the storm did in all (rows archived, files removed, …). */
  done: string;
  /** True when nothing was lost or doubled, no rerun failed and no check found a problem. */
  ok: boolean;
}

const DEFAULT_SIZE: Record<StormJob, number> = { 'file-cleanup': 3000, 'log-cleanup': 3000, 'metrics-aggregate': 120 };

function scenarioFor(job: StormJob, stack: LocalStack, size: number): Scenario {
  switch (job) {
    case 'file-cleanup': return fileCleanupScenario(stack, size);
    case 'log-cleanup': return logCleanupScenario(stack, size, 250);
    case 'metrics-aggregate': return metricsScenario(stack, size);
  }
}

async function runIds(stack: LocalStack, job: string): Promise<Set<string>> {
  const { rows } = await stack.db.query<{ id: string }>(`select id::text as id from export_ops.runs where job = $1`, [job]);
  return new Set(rows.map((r) => r.id));
}

/**
 * Resolves with the ms from now until a run record of `job` beyond the `known` count appears;
 * gives up (never resolves) once `stop()` says the child has exited.
 */
function watchRunRecord(stack: LocalStack, job: string, known: number, stopped: () => boolean): Promise<number> {
  const started = Date.now();
  return new Promise((resolve) => {
    const poll = async () => {
      if (stopped()) return;
      const { rows } = await stack.db.query<{ n: number }>(`select count(*)::int as n from export_ops.runs where job = $1`, [job]);
      if (rows[0].n > known) resolve(Date.now() - started);
      else setTimeout(() => void poll(), RUN_RECORD_POLL_MS);
    };
    void poll();
  });
}

interface Measurement { startupMs: number; totalMs: number }
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

/** Runs the job until a run ends with `more: false`; every run is kept (metrics reads their output). */
async function rerunUntilDone(job: StormJob, input: unknown, env: NodeJS.ProcessEnv, children: ChildRun[], tally: Tally) {
  let reruns = 0;
  let failed = 0;
  for (;;) {
    if (reruns >= MAX_RERUNS) {
      problem(tally, `no run ended with more: false after ${MAX_RERUNS} reruns`);
      return { reruns, failed };
    }
    const run = await runChild(job, input, env);
    children.push(run);
    reruns++;
    if (run.code !== 0) {
      failed++;
      problem(tally, `rerun failed: ${(run.stderr.trim().split('\n')[0] ?? '').slice(0, 160)}`);
      continue;
    }
    if (run.result && run.result.more === false) return { reruns, failed };
  }
}

export async function stormJob(job: StormJob, options: StormOptions): Promise<StormReport> {
  const log = options.log ?? (() => undefined);
  const scratch = await createScratchDatabase(options.serverUrl, 'export_ops_storm');
  const stack = await startLocalStack({ databaseUrl: scratch.url });
  try {
    const scenario = scenarioFor(job, stack, options.size ?? DEFAULT_SIZE[job]);
    const env: NodeJS.ProcessEnv = {
      ...process.env,
      ...stack.env,
      FILE_CLAIM_LEASE_SECONDS: String(LEASE_SECONDS),
      LOG_PART_LEASE_SECONDS: String(LEASE_SECONDS),
      METRICS_WINDOW_LEASE_SECONDS: String(LEASE_SECONDS),
      POWERTOOLS_LOG_LEVEL: 'ERROR',
      POWERTOOLS_DEV: '',
      POWERTOOLS_METRICS_DISABLED: 'false',
      ...scenario.env,
      ...(options.broken ? { STORM_BROKEN: options.broken } : {}),
    };
    await scenario.setup();
    const total = emptyTally();
    const report: StormReport = {
      job, seed: options.seed, work: scenario.work, measuredMs: 0, measuringRuns: 0, latestMedianMs: 0, attempts: 0, midWorkKills: 0, startupKills: 0, afterEndKills: 0,
      reruns: 0, failedReruns: 0, lost: 0, doubled: 0, duplicates: 0, problems: total.problems, done: '', ok: false,
    };

    // Uninterrupted runs on the same shape of work: the kills are drawn from their duration.
    const measurements: Measurement[] = [];
    const measure = async (i: number) => {
      const iteration = await scenario.prepare(i);
      const known = (await runIds(stack, job)).size;
      let exited = false;
      const record = watchRunRecord(stack, job, known, () => exited);
      const first = await runChild(job, iteration.input, env);
      exited = true;
      if (first.code !== 0) throw new Error(`the uninterrupted ${job} run failed:\n${first.stderr}`);
      const startupMs = await Promise.race([record, sleep(1000).then(() => first.elapsedMs)]);
      measurements.push({ startupMs, totalMs: first.elapsedMs });
      const children = [first];
      if (first.result?.more !== false) await rerunUntilDone(job, iteration.input, env, children, total);
      addTally(total, await iteration.check(children));
      log(`${job}: uninterrupted run ${first.elapsedMs} ms, its run record after ${startupMs} ms (${scenario.work})`);
    };
    const current = (): Measurement => {
      const recent = measurements.slice(-3);
      return { startupMs: median(recent.map((m) => m.startupMs)), totalMs: median(recent.map((m) => m.totalMs)) };
    };
    await measure(0);
    report.measuredMs = measurements[0].totalMs;

    const random = prng(options.seed);
    const maxAttempts = options.maxAttempts ?? options.kills * 4 + 10;
    for (let i = 1; report.midWorkKills < options.kills && report.attempts < maxAttempts; i++) {
      if (report.attempts > 0 && report.attempts % REMEASURE_EVERY === 0) await measure(100_000 + i); // its own seed range: no clash with the attempts' work
      report.attempts++;
      const iteration = await scenario.prepare(i);
      const known = await runIds(stack, job);
      const { startupMs, totalMs } = current();
      const killAt = Math.round(random() * totalMs);
      let exited = false;
      const plan: KillPlan = killAt < startupMs
        ? { afterMs: killAt }
        : { afterMs: killAt - startupMs, anchor: watchRunRecord(stack, job, known.size, () => exited) };
      const victim = await runChild(job, iteration.input, env, plan);
      exited = true;
      const children = [victim];
      const { rows } = await stack.db.query<{ id: string; status: string }>(
        `select id::text as id, status from export_ops.runs where job = $1`, [job],
      );
      const mine = rows.filter((r) => !known.has(r.id));
      let kind: 'mid-work' | 'start-up' | 'after end';
      if (!victim.killed) kind = 'after end';
      else if (mine.length === 0) kind = 'start-up';
      else kind = mine.some((r) => r.status === 'running') ? 'mid-work' : 'after end';
      if (kind === 'mid-work') report.midWorkKills++;
      else if (kind === 'start-up') report.startupKills++;
      else report.afterEndKills++;
      if (!victim.killed && victim.code !== 0) problem(total, 'a run the storm did not kill failed');

      const tally = await iteration.afterKill();
      await sleep(LEASE_SECONDS * 1000 + 300);
      if (victim.killed || victim.result?.more !== false) {
        const { reruns, failed } = await rerunUntilDone(job, iteration.input, env, children, tally);
        report.reruns += reruns;
        report.failedReruns += failed;
      }
      addTally(tally, await iteration.check(children));
      addTally(total, tally);
      const found = [...tally.problems.entries()].map(([k, v]) => `${k}: ${v}`).join('; ');
      const at = plan.anchor ? `${plan.afterMs} ms into the work` : `${killAt} ms after spawn`;
      log(`${job} #${i}: kill ${at} (${kind}); mid-work kills ${report.midWorkKills}/${options.kills}${found ? ` — ${found}` : ''}`);
    }
    report.measuringRuns = measurements.length;
    report.latestMedianMs = current().totalMs;
    addTally(total, await scenario.final());
    report.done = await scenario.describe();
    report.lost = total.lost;
    report.doubled = total.doubled;
    report.duplicates = total.duplicates;
    report.ok = total.lost === 0 && total.doubled === 0 && report.failedReruns === 0 && total.problems.size === 0;
    return report;
  } finally {
    await stack.stop();
    await scratch.drop();
  }
}

export function formatReport(r: StormReport): string {
  const line = (label: string, value: string | number) => `  ${label.padEnd(34)} ${value}\n`;
  let out = `== storm: ${r.job} (seed ${r.seed}; ${r.work}; uninterrupted run ${(r.measuredMs / 1000).toFixed(1)} s) ==\n`;
  out += line('measuring runs (uninterrupted)', `${r.measuringRuns}; latest median ${(r.latestMedianMs / 1000).toFixed(1)} s`);
  out += line('kill attempts', r.attempts);
  out += line('mid-work kills', r.midWorkKills);
  out += line('start-up kills', r.startupKills);
  out += line('kills after the end (or too late)', r.afterEndKills);
  out += line('reruns', r.reruns);
  out += line('failed reruns', r.failedReruns);
  out += line(r.job === 'file-cleanup' ? 'lost (due files/rows not done)' : r.job === 'log-cleanup' ? 'lost rows' : 'lost windows', r.lost);
  out += line('doubled', r.job === 'file-cleanup' ? 'n/a' : r.doubled);
  out += line('duplicates (windows emitted twice)', r.job === 'metrics-aggregate' ? `${r.duplicates} (${r.duplicates - r.doubled} harmless: same values and timestamp)` : 'n/a');
  for (const [name, n] of r.problems) out += line(`problem: ${name}`, n);
  out += line('end state', r.done);
  out += line('verdict', r.ok ? 'PASS' : 'FAIL');
  return out;
}
