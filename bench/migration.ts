import { isDeepStrictEqual } from 'node:util';
import { performance } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import { createScratchDatabase } from '../local/db/scratch';
import {
  appCatalog, appTargets, applyFilesInTransactions, checkEndState, connect, latency, runBackfill, seedLiveProject, startAppLoad,
} from '../test/support/live-migration';
import { BACKFILL_BATCH_ROWS } from '../lambdas/shared/backfill';
import type { BenchOptions } from './main';
import { print, settleServer, spread } from './support';

/** Rows per backfill call, as the jobs call it. */
const STEP = BACKFILL_BATCH_ROWS;

const ms = (value: number) => `${Math.round(value).toLocaleString('en-US')} ms`;
const yes = (ok: boolean, detail = '') => `${ok ? 'yes' : 'NO'}${detail ? ` (${detail})` : ''}`;

/** Runs, each on a fresh copy of one seeded live project; every timing is the median, with min and max. */
const RUNS = 3;

/** One run's timings and checks. */
interface MigrationRun {
  applyMs: number;
  firstFileLocks: string;
  backfill: { steps: number; ms: number; rows: number; worstStepMs: number };
  writes: { count: number; worst: number; p99: number };
  reads: { count: number; worst: number; p99: number };
  errors: string[];
  checks: { untouchedSame: boolean; untouched: number; writerRowsSame: boolean; writerRows: number; mirrored: boolean; exports: number;
    finishAsDocumented: boolean; catalogSame: boolean };
}

/**
 * One run on a copy of the seeded project: an app writer does an insert or an update every
 * 10 ms and a reader a listing every 10 ms while the migrations are applied, then the backfill
 * runs to the end; then the end state is checked against the seed's snapshot.
 */
async function migrateLiveCopy(serverUrl: string, template: string): Promise<MigrationRun> {
  const scratch = await createScratchDatabase(serverUrl, 'export_ops_bench', { template });
  const admin = await connect(scratch.url);
  try {
    const catalogBefore = await appCatalog(admin);
    const { targets, users } = await appTargets(admin, 2_000);
    const app = startAppLoad(scratch.url, targets, users);
    const migrator = await connect(scratch.url);
    const jobs = await connect(scratch.url);
    let applied;
    let backfill;
    try {
      await sleep(1_000);
      applied = await applyFilesInTransactions(migrator);
      backfill = await runBackfill(jobs, STEP);
      await sleep(500);
    } finally {
      await migrator.end();
      await jobs.end();
    }
    const load = await app.stop();
    const end = await checkEndState(admin, load);
    const catalogAfter = await appCatalog(admin);
    return {
      applyMs: applied.ms,
      firstFileLocks: Object.values(applied.locks)[0].filter((l) => l.startsWith('export_logs ')).map((l) => l.split(' ')[1]).join(', ') || 'none',
      backfill,
      writes: latency(load.writeMs),
      reads: latency(load.readMs),
      errors: load.errors,
      checks: {
        untouchedSame: end.checksumAfter === end.checksumBefore && end.untouchedChanged === 0, untouched: end.untouched,
        writerRowsSame: end.writerRowsDiffer === 0 && end.writerFixedChanged === 0, writerRows: end.writerRows,
        mirrored: end.backfillDone && end.untracked === 0 && end.orphans === 0 && end.mirrorDiffers === 0 && end.derivedDiffers === 0,
        exports: end.exports,
        finishAsDocumented: end.fallbackDiffers === 0 && end.observedDiffers === 0 && end.earlyFinalDiffers === 0 && end.unfinishedWithFinish === 0,
        catalogSame: isDeepStrictEqual(catalogAfter, catalogBefore),
      },
    };
  } finally {
    await admin.end();
    await scratch.drop();
  }
}

/**
 * `npm run bench migration`: the migrations applied to a live export_logs of 1,000,000 rows
 * (`--quick`: 50,000, one run) with the app's trigger, RLS and policies, under app load, then
 * the backfill to the end: the scenario of test/local/db/live-migration.test.ts at size, RUNS
 * times, each on a fresh copy (CREATE DATABASE … TEMPLATE) of one seeded project.
 */
export async function bench(options: BenchOptions): Promise<void> {
  const rows = options.quick ? 50_000 : 1_000_000;
  const runs = options.quick ? 1 : RUNS;
  const template = await createScratchDatabase(options.databaseUrl, 'export_ops_bench_template');
  try {
    const seeded = performance.now();
    await seedLiveProject(template.url, rows);
    await settleServer(options.databaseUrl);
    print('rows in export_logs before the migration', rows.toLocaleString('en-US'));
    print('seed (insert, vacuum analyze, snapshot)', ms(performance.now() - seeded));
    const results: MigrationRun[] = [];
    for (let i = 0; i < runs; i++) results.push(await migrateLiveCopy(options.databaseUrl, template.name));

    const msSpread = (values: number[]) => `${spread(values)} ms`;
    const all = (pick: (c: MigrationRun['checks']) => boolean) => results.every((r) => pick(r.checks));
    print(`migration, all files (each in BEGIN … COMMIT), median [min–max] of ${runs}`, msSpread(results.map((r) => r.applyMs)));
    print('  locks the first file holds on export_logs until COMMIT', [...new Set(results.map((r) => r.firstFileLocks))].join(' / '));
    print(`backfill (${results[0].backfill.steps} calls of ${STEP.toLocaleString('en-US')})`,
      `${msSpread(results.map((r) => r.backfill.ms))}, ${spread(results.map((r) => r.backfill.rows / (r.backfill.ms / 1000)))} rows/s`);
    print('  slowest backfill call', msSpread(results.map((r) => r.backfill.worstStepMs)));
    print('app writer: statements (insert/update as authenticated)', spread(results.map((r) => r.writes.count)));
    print('app writer: worst / p99 statement latency', `${msSpread(results.map((r) => r.writes.worst))} / ${msSpread(results.map((r) => r.writes.p99))}`);
    print('app reader: statements / worst / p99',
      `${spread(results.map((r) => r.reads.count))} / ${msSpread(results.map((r) => r.reads.worst))} / ${msSpread(results.map((r) => r.reads.p99))}`);
    const errors = results.flatMap((r) => r.errors);
    print('app statement errors, all runs', errors.length ? `${errors.length}: ${errors[0]}` : 0);
    print('app-column checksum of rows the writer did not touch matched, every run',
      yes(all((c) => c.untouchedSame), `${results[0].checks.untouched.toLocaleString('en-US')} rows`));
    print('rows the writer touched hold exactly what it wrote, every run', yes(all((c) => c.writerRowsSame), `${results.map((r) => r.checks.writerRows).join(', ')} rows`));
    print('one export_ops.exports row per export_logs row, mirrored, every run',
      yes(all((c) => c.mirrored), `${results[0].checks.exports.toLocaleString('en-US')} rows`));
    print('finished_at as documented (fallback / observed), every run', yes(all((c) => c.finishAsDocumented)));
    print("app's RLS, policies, functions, triggers, indexes unchanged, every run", yes(all((c) => c.catalogSame)));
  } finally {
    await template.drop();
  }
}
