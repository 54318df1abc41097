/**
 * The crash storm: runs a job as a child process on a real PostgreSQL server and the local
 * stack, SIGKILLs it at seeded-random times within its measured duration, waits out the lease,
 * reruns it until a run ends with `more: false`, and checks the end state each time.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { createScratchDatabase } from '../local/db/scratch';
import { startLocalStack, type LocalStack } from '../local/stack';
import { prng, runChild, type ChildRun } from './child-process';
import { addTally, emptyTally, fileCleanupScenario, logCleanupScenario, metricsScenario, problem, type Scenario, type Tally } from './scenarios';

export const STORM_JOBS = ['file-cleanup', 'log-cleanup', 'metrics-aggregate'] as const;
export type StormJob = (typeof STORM_JOBS)[number];

/** Every lease of the storm's children, in seconds (the settings' minimum). */
export const LEASE_SECONDS = 1;
/** Reruns after one kill before the storm gives up on that iteration. */
const MAX_RERUNS = 8;

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
  measuredMs: number;
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
      job, seed: options.seed, work: scenario.work, measuredMs: 0, attempts: 0, midWorkKills: 0, startupKills: 0, afterEndKills: 0,
      reruns: 0, failedReruns: 0, lost: 0, doubled: 0, duplicates: 0, problems: total.problems, done: '', ok: false,
    };

    // One uninterrupted run on the same shape of work: the kills are drawn from its duration.
    {
      const iteration = await scenario.prepare(0);
      const first = await runChild(job, iteration.input, env);
      if (first.code !== 0) throw new Error(`the uninterrupted ${job} run failed:\n${first.stderr}`);
      report.measuredMs = first.elapsedMs;
      const children = [first];
      if (first.result?.more !== false) await rerunUntilDone(job, iteration.input, env, children, total);
      addTally(total, await iteration.check(children));
      log(`${job}: uninterrupted run ${first.elapsedMs} ms (${scenario.work})`);
    }

    const random = prng(options.seed);
    const maxAttempts = options.maxAttempts ?? options.kills * 4 + 10;
    for (let i = 1; report.midWorkKills < options.kills && report.attempts < maxAttempts; i++) {
      report.attempts++;
      const iteration = await scenario.prepare(i);
      const known = await runIds(stack, job);
      const killAt = Math.round(random() * report.measuredMs);
      const victim = await runChild(job, iteration.input, env, killAt);
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
      log(`${job} #${i}: kill at ${killAt} ms (${kind})${found ? ` — ${found}` : ''}`);
    }
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
