import { isDeepStrictEqual } from 'node:util';
import { performance } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import { createScratchDatabase } from '../local/db/scratch';
import {
  appCatalog, appTargets, applyFilesInTransactions, checkEndState, connect, latency, runBackfill, seedLiveProject, startAppLoad,
} from '../test/support/live-migration';
import { BACKFILL_BATCH_ROWS } from '../lambdas/shared/backfill';
import type { BenchOptions } from './main';
import { print } from './support';

/** Rows per backfill call, as the jobs call it. */
const STEP = BACKFILL_BATCH_ROWS;

const ms = (value: number) => `${Math.round(value).toLocaleString('en-US')} ms`;
const yes = (ok: boolean, detail = '') => `${ok ? 'yes' : 'NO'}${detail ? ` (${detail})` : ''}`;

/**
 * `npm run bench migration`: the migrations applied to a live export_logs of 1,000,000 rows
 * (`--quick`: 50,000) with the app's trigger, RLS and policies, while an app writer does an
 * insert or an update every 10 ms and a reader a listing every 10 ms; then the backfill to the
 * end. The scenario of test/local/db/live-migration.test.ts at size.
 */
export async function bench(options: BenchOptions): Promise<void> {
  const rows = options.quick ? 50_000 : 1_000_000;
  const scratch = await createScratchDatabase(options.databaseUrl, 'export_ops_bench');
  const admin = await connect(scratch.url);
  try {
    const seeded = performance.now();
    await seedLiveProject(scratch.url, rows);
    print('rows in export_logs before the migration', rows.toLocaleString('en-US'));
    print('seed (insert, vacuum analyze, snapshot)', ms(performance.now() - seeded));
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

    print(`migration, all ${Object.keys(applied.locks).length} files (each in BEGIN … COMMIT)`, ms(applied.ms));
    print('  locks the first file holds on export_logs until COMMIT',
      Object.values(applied.locks)[0].filter((l) => l.startsWith('export_logs ')).map((l) => l.split(' ')[1]).join(', ') || 'none');
    print(`backfill (${backfill.steps} calls of ${STEP.toLocaleString('en-US')})`,
      `${ms(backfill.ms)}, ${Math.round(backfill.rows / (backfill.ms / 1000)).toLocaleString('en-US')} rows/s`);
    print('  slowest backfill call', ms(backfill.worstStepMs));
    const writes = latency(load.writeMs);
    const reads = latency(load.readMs);
    print('app writer: statements (insert/update as authenticated)', writes.count);
    print('app writer: worst / p99 statement latency', `${ms(writes.worst)} / ${ms(writes.p99)}`);
    print('app reader: statements / worst / p99', `${reads.count} / ${ms(reads.worst)} / ${ms(reads.p99)}`);
    print('app statement errors', load.errors.length ? `${load.errors.length}: ${load.errors[0]}` : 0);
    print('app-column checksum of rows the writer did not touch matched',
      yes(end.checksumAfter === end.checksumBefore && end.untouchedChanged === 0, `${end.untouched.toLocaleString('en-US')} rows`));
    print('rows the writer touched hold exactly what it wrote', yes(end.writerRowsDiffer === 0 && end.writerFixedChanged === 0, `${end.writerRows} rows`));
    print('one export_ops.exports row per export_logs row, mirrored',
      yes(end.backfillDone && end.untracked === 0 && end.orphans === 0 && end.mirrorDiffers === 0 && end.derivedDiffers === 0,
        `${end.exports.toLocaleString('en-US')} rows`));
    print('finished_at as documented (fallback / observed)',
      yes(end.fallbackDiffers === 0 && end.observedDiffers === 0 && end.earlyFinalDiffers === 0 && end.unfinishedWithFinish === 0));
    print("app's RLS, policies, functions, triggers, indexes unchanged", yes(isDeepStrictEqual(catalogAfter, catalogBefore)));
  } finally {
    await admin.end();
    await scratch.drop();
  }
}
