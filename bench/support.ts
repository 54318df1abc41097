import { setFlagsFromString } from 'node:v8';
import { Client } from 'pg';
import { runInNewContext } from 'node:vm';
import { createScratchDatabase } from '../local/db/scratch';
import type { Database } from '../local/db/database';
import { startLocalStack, type LocalStack, type LocalStackOptions } from '../local/stack';

/** A local stack on a scratch database of the benchmark server (a copy of `template` if given), dropped on stop. */
export async function startBenchStack(serverUrl: string, options: LocalStackOptions & { template?: string } = {}): Promise<LocalStack> {
  const { template, ...stackOptions } = options;
  const scratch = await createScratchDatabase(serverUrl, 'export_ops_bench', { template });
  const stack = await startLocalStack({ ...stackOptions, databaseUrl: scratch.url });
  return { ...stack, stop: async () => { await stack.stop(); await scratch.drop(); } };
}

/**
 * A database prepared once, for runs that each start from an identical copy of it (CREATE
 * DATABASE … TEMPLATE: the same bytes, statistics and visibility map every time). After
 * `prepare` (e.g. seeding), the whole database is vacuumed and analyzed, as a live table's old
 * rows long have been: the jobs' own tables too, whose fresh, never-vacuumed rows made a log
 * cleanup run take twice as long as on a live project, and by chance.
 *
 * @example
 * const seeded = await preparedDatabase(serverUrl, (db) => seedEligible(db, 1_000_000));
 * const stack = await seeded.start(); // a fresh copy; stack.stop() drops it
 * await seeded.drop();
 */
export async function preparedDatabase(serverUrl: string, prepare: (db: Database) => Promise<void>) {
  const template = await createScratchDatabase(serverUrl, 'export_ops_bench_template');
  try {
    const stack = await startLocalStack({ databaseUrl: template.url });
    try {
      await prepare(stack.db);
      await stack.db.query('vacuum analyze');
      await settleServer(serverUrl);
    } finally {
      await stack.stop();
    }
  } catch (error) {
    await template.drop();
    throw error;
  }
  return {
    url: template.url,
    start: (options: LocalStackOptions = {}) => startBenchStack(serverUrl, { ...options, template: template.name }),
    drop: () => template.drop(),
  };
}

let checkpointRefused = false;

/**
 * Writes the server's dirty pages out now (CHECKPOINT) and waits for it. A seed leaves gigabytes
 * of them, which the checkpointer otherwise writes over the next minutes, on the same cores as
 * the timings that follow: in one full run the metrics window's floor spread 4.6–14.9 ms and the
 * bundles' cold imports took 40 % longer right after the 10M-row seed than in the run before.
 * Needs a superuser or the pg_checkpoint role; without either, the runs go on unsettled and the
 * output says so once.
 *
 * @example
 * await seedEligible(db, 1_000_000);
 * await settleServer(serverUrl);
 */
export async function settleServer(serverUrl: string): Promise<void> {
  if (checkpointRefused) return;
  const client = new Client({ connectionString: serverUrl });
  await client.connect();
  try {
    await client.query('checkpoint');
  } catch (error) {
    if ((error as { code?: string }).code !== '42501') throw error;
    checkpointRefused = true;
    process.stdout.write(`(CHECKPOINT refused to this role: timings after a seed share the machine with the checkpointer)\n`);
  } finally {
    await client.end();
  }
}

/** The median of repeated measurements. */
export function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
}

/** `median [min–max]` of repeated measurements, the form every bench figure is printed in. */
export function spread(values: number[], digits = 0): string {
  const f = (v: number) => v.toFixed(digits);
  return `${f(median(values))} [${f(Math.min(...values))}–${f(Math.max(...values))}]`;
}

let gc: (() => void) | undefined;
/**
 * A full garbage collection now, so that garbage a timed call left in this process is not
 * collected during the next call's timing. The metrics bench's client and the local stack share
 * this process: without it, the 10,000-row fetch's garbage was collected in the SQL call timed
 * after it (13.0–38.6 ms for the same call within one run).
 */
export function collectGarbage(): void {
  if (!gc) {
    setFlagsFromString('--expose-gc');
    gc = runInNewContext('gc') as () => void;
  }
  gc();
}

/** Samples this process's resident memory every 50 ms; `peakMb()` reads the highest seen. */
export function trackPeakRss() {
  let peak = process.memoryUsage().rss;
  const timer = setInterval(() => { peak = Math.max(peak, process.memoryUsage().rss); }, 50);
  timer.unref();
  return {
    reset() { peak = process.memoryUsage().rss; },
    peakMb() { peak = Math.max(peak, process.memoryUsage().rss); return Math.round(peak / 1024 / 1024); },
    stop() { clearInterval(timer); },
  };
}

/** Every figure printed in this process, by bench, for the README's table (`npm run bench -- --readme`). */
export const printed: Array<{ bench: string; label: string; value: string }> = [];
let currentBench = '';
/** Names the bench whose figures follow. */
export function beginBench(name: string): void {
  currentBench = name;
  process.stdout.write(`\n== ${name} ==\n`);
}

/** One figure per line, label padded so columns line up; recorded in {@link printed}. */
export function print(label: string, value: string | number): void {
  printed.push({ bench: currentBench, label, value: String(value) });
  process.stdout.write(`${label.padEnd(72)} ${value}\n`);
}
