import { performance } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Client } from 'pg';
import { openDatabase } from '../../../local/db/database';
import { applyMigrations, listMigrations } from '../../../local/db/migrate';
import { createScratchDatabase } from '../../../local/db/scratch';
import {
  appCatalog, appTargets, applyFilesInTransactions, checkEndState, connect, latency, runBackfill, seedLiveProject,
  startAppLoad, type AppLoad, type AppliedMigrations, type BackfillRun, type EndState,
} from '../../support/live-migration';
import { databaseMode } from '../../support/stack';

/**
 * The migrations land on a live export_logs: years of rows, the app's trigger, RLS and
 * policies, and the app writing and reading all along. Needs a real server (the app, the
 * migration and the backfill are concurrent connections; PGlite has one backend), so in the
 * PGlite pass it is skipped under a name saying so.
 */
const serverUrl = process.env.DATABASE_URL;
const describeOnServer = serverUrl ? describe : describe.skip;
const mode = serverUrl ? databaseMode : `${databaseMode}: skipped, needs DATABASE_URL (a PostgreSQL server: concurrent connections)`;

const ROWS = 20_000;
/**
 * Small batches, so the backfill takes several calls and can be stopped in the middle; the
 * jobs' BACKFILL_BATCH_ROWS, because an app write to a row of the batch in flight waits for the
 * call to commit.
 */
const STEP = 2_000;
/** No app statement may wait this long because of export-ops. */
const MAX_APP_WAIT_MS = 1_000;
const FIRST_FILE = '20261129000000_export_ops.sql';
/**
 * The one other file an app write may wait for: it adds the metric mirror's columns to
 * export_ops.exports, which the triggers write on every app write, and holds that lock for the
 * ALTER alone (the waits it causes are in the latency test below).
 */
const METRIC_COLUMNS_FILE = '20261130000400_metric_columns.sql';
/**
 * Locks no app statement waits for (they conflict with none of ACCESS SHARE, ROW SHARE and ROW
 * EXCLUSIVE). Creating a LANGUAGE SQL function that names export_logs takes them: its body is
 * parsed and analysed (check_function_bodies), as a query would be.
 */
const APP_COMPATIBLE = ['AccessShareLock', 'RowShareLock', 'RowExclusiveLock'];
const blocksApp = (lock: string) => !APP_COMPATIBLE.includes(lock.split(' ')[1]);
const TRACK_TRIGGERS = `select count(*)::int as n from pg_trigger
                         where tgrelid = 'public.export_logs'::regclass and tgname like 'export\\_ops\\_track\\_%'`;

describeOnServer(`migrating a live export_logs under app load (${mode})`, () => {
  let drop: () => Promise<void> = async () => undefined;
  let admin: Client;
  let catalogBefore: Record<string, unknown>;
  let catalogAfter: Record<string, unknown>;
  let first: AppliedMigrations;
  let again: AppliedMigrations;
  let partial: BackfillRun;
  let rest: BackfillRun;
  let cursorBefore: unknown;
  let cursorAfter: unknown;
  let load: AppLoad;
  let end: EndState;

  beforeAll(async () => {
    const scratch = await createScratchDatabase(serverUrl as string, 'export_ops_live');
    drop = scratch.drop;
    await seedLiveProject(scratch.url, ROWS);
    admin = await connect(scratch.url);
    catalogBefore = await appCatalog(admin);
    const { targets, users } = await appTargets(admin, 500);
    const app = startAppLoad(scratch.url, targets, users);
    const migrator = await connect(scratch.url);
    const jobs = await connect(scratch.url);
    try {
      await sleep(300);
      first = await applyFilesInTransactions(migrator);
      partial = await runBackfill(jobs, STEP, 3);
      const cursor = `select after_id, rows_seen, installed_at, completed_at from export_ops.backfill`;
      cursorBefore = (await admin.query(cursor)).rows;
      // Stopped mid-way, the migrations are applied again (a later deploy), twice: per file in
      // BEGIN … COMMIT, then through the local stack's port.
      again = await applyFilesInTransactions(migrator);
      const db = await openDatabase({ databaseUrl: scratch.url });
      await applyMigrations(db, { bootstrap: false }).finally(() => db.close());
      cursorAfter = (await admin.query(cursor)).rows;
      rest = await runBackfill(jobs, STEP);
      await sleep(300);
    } finally {
      load = await app.stop();
      await migrator.end();
      await jobs.end();
    }
    end = await checkEndState(admin, load);
    catalogAfter = await appCatalog(admin);
  });
  afterAll(async () => {
    await admin?.end();
    await drop();
  });

  test('each file applies in its own BEGIN … COMMIT; only the first takes a lock on export_logs that app writes wait for, and one other file one on export_ops.exports', async () => {
    expect(Object.keys(first.locks)).toHaveLength((await listMigrations()).length);
    expect(first.locks[FIRST_FILE].filter((l) => l.startsWith('export_logs ') && blocksApp(l))).toEqual(['export_logs ShareRowExclusiveLock']);
    expect(first.locks[METRIC_COLUMNS_FILE].filter(blocksApp)).toEqual(['export_ops.exports AccessExclusiveLock']);
    for (const [file, locks] of Object.entries(first.locks)) {
      if (file !== FIRST_FILE && file !== METRIC_COLUMNS_FILE) expect({ file, locks: locks.filter(blocksApp) }).toEqual({ file, locks: [] });
    }
    expect((await admin.query(TRACK_TRIGGERS)).rows[0].n).toBe(4);
  });

  test('applying everything again is a no-op: no lock app statements wait for, the backfill resumes where it stopped', () => {
    // Not on export_logs, nor on the tables the triggers write to on every app write.
    expect(Object.values(again.locks).flat().filter(blocksApp)).toEqual([]);
    expect(again.locks[FIRST_FILE]).toEqual([]);
    expect(partial).toMatchObject({ steps: 3, rows: 3 * STEP, done: false });
    expect(cursorAfter).toEqual(cursorBefore);
    expect(rest.done).toBe(true);
    // Every pre-existing row, and the writer's rows whose id came after the cursor then.
    expect(partial.rows + rest.rows).toBeGreaterThanOrEqual(ROWS);
    expect(partial.rows + rest.rows).toBeLessThanOrEqual(end.exportLogs);
  });

  test("no app column of a row the writer did not touch changed (checksum before = after)", () => {
    expect(end.preExisting).toBe(ROWS);
    expect(end.untouched).toBeGreaterThan(ROWS - 600);
    expect(end.checksumAfter).toBe(end.checksumBefore);
    expect(end.untouchedChanged).toBe(0);
  });

  test('rows the writer touched hold exactly what it wrote; updated_at moved only with its own updates', () => {
    expect(load.errors).toEqual([]);
    expect(end.writerRows).toBeGreaterThan(50);
    expect(end.writerRowsDiffer).toBe(0);
    expect(end.writerFixedChanged).toBe(0);
  });

  test(`no app statement waited ${MAX_APP_WAIT_MS} ms, from the first migration statement to the end of the backfill`, () => {
    const writes = latency(load.writeMs);
    const reads = latency(load.readMs);
    expect(writes.count).toBeGreaterThan(50);
    expect(reads.count).toBeGreaterThan(50);
    expect(writes.worst).toBeLessThan(MAX_APP_WAIT_MS);
    expect(reads.worst).toBeLessThan(MAX_APP_WAIT_MS);
  });

  test('after stopping and resuming, every export_logs row has exactly one export_ops.exports row, mirroring it', () => {
    expect(end.backfillDone).toBe(true);
    expect(end.exports).toBe(end.exportLogs);
    expect(end).toMatchObject({ untracked: 0, orphans: 0, mirrorDiffers: 0, derivedDiffers: 0 });
  });

  test("finished_at: the documented fallback for pre-existing final rows, the writer's now() for rows it made final after the triggers", () => {
    expect(end.fallbackClamped).toBeGreaterThan(0);
    expect(end.fallbackDiffers).toBe(0);
    expect(end.observedChecked).toBeGreaterThan(10);
    expect(end.observedDiffers).toBe(0);
    expect(end.earlyFinalDiffers).toBe(0);
    expect(end.unfinishedWithFinish).toBe(0);
  });

  test("the app's RLS, grants, policies, functions, triggers (but export-ops' four) and indexes are as before", () => {
    expect(catalogAfter).toEqual(catalogBefore);
  });
});

describeOnServer(`a long app transaction holding a row lock while the migration runs (${mode})`, () => {
  const HOLD_MS = 3_000;

  async function scenario(lockRow: string) {
    const scratch = await createScratchDatabase(serverUrl as string, 'export_ops_live');
    const admin = await connect(scratch.url);
    const holder = await connect(scratch.url);
    const migrator = await connect(scratch.url);
    const jobs = await connect(scratch.url);
    try {
      await seedLiveProject(scratch.url, 2_000);
      const { targets, users } = await appTargets(admin, 100);
      const held = targets[0];
      await holder.query('begin');
      await holder.query(lockRow, [held.id]);
      const app = startAppLoad(scratch.url, targets, users, [held.id]);
      await sleep(200);
      const started = performance.now();
      const migration = applyFilesInTransactions(migrator).then(() => performance.now());
      const triggersWhileHeld = await sleep(HOLD_MS).then(async () => (await admin.query(TRACK_TRIGGERS)).rows[0].n as number);
      await holder.query('commit');
      const released = performance.now();
      const migrated = await migration;
      await runBackfill(jobs, 1_000);
      const load = await app.stop();
      const end = await checkEndState(admin, load, [held.id]);
      const { rows: [heldRow] } = await admin.query(`select status from public.export_logs where id = $1`, [held.id]);
      return { started, released, migrated, triggersWhileHeld, load, end, heldRow, triggers: (await admin.query(TRACK_TRIGGERS)).rows[0].n };
    } finally {
      await Promise.all([admin.end(), holder.end(), migrator.end(), jobs.end()]);
      await scratch.drop();
    }
  }

  function expectAppUnharmed(result: Awaited<ReturnType<typeof scenario>>) {
    expect(result.load.errors).toEqual([]);
    expect(latency(result.load.writeMs).worst).toBeLessThan(MAX_APP_WAIT_MS);
    expect(latency(result.load.readMs).worst).toBeLessThan(MAX_APP_WAIT_MS);
    expect(result.triggers).toBe(4);
    expect(result.end).toMatchObject({ untouchedChanged: 0, writerRowsDiffer: 0, untracked: 0, orphans: 0, mirrorDiffers: 0, backfillDone: true });
  }

  test('an uncommitted UPDATE: the install retries, app statements keep going, and it completes once the transaction ends', async () => {
    const result = await scenario(`update public.export_logs set status = 'processing' where id = $1`);
    // ROW EXCLUSIVE conflicts with the triggers' lock: nothing could be installed while it was held.
    expect(result.triggersWhileHeld).toBe(0);
    expect(result.migrated).toBeGreaterThan(result.released);
    expect(result.heldRow.status).toBe('processing');
    expectAppUnharmed(result);
  });

  test('a SELECT … FOR UPDATE: app statements keep going and the migration completes', async () => {
    const result = await scenario(`select id from public.export_logs where id = $1 for update`);
    expectAppUnharmed(result);
  });
});

describeOnServer(`an app delete racing a backfill batch (${mode})`, () => {
  test('leaves no tracked row behind: the next call drops what the batch inserted for a row deleted meanwhile', async () => {
    const scratch = await createScratchDatabase(serverUrl as string, 'export_ops_race');
    const [admin, jobs, app] = await Promise.all([connect(scratch.url), connect(scratch.url), connect(scratch.url)]);
    try {
      await seedLiveProject(scratch.url, 100);
      await applyFilesInTransactions(admin);
      const { rows: [victim] } = await admin.query<{ id: string }>(`select id from public.export_logs order by id limit 1`);
      await jobs.query('begin');
      await jobs.query('set local role service_role');
      await jobs.query('select public.export_ops_backfill_step(10)');
      // The app deletes a row of the uncommitted batch: its trigger cannot see the batch's row.
      await app.query('delete from public.export_logs where id = $1', [victim.id]);
      await jobs.query('commit');
      const run = await runBackfill(jobs, STEP);
      expect(run.done).toBe(true);
      const { rows: [counts] } = await admin.query<{ orphans: number; untracked: number }>(`
        select (select count(*)::int from export_ops.exports x where not exists (select 1 from public.export_logs e where e.id = x.id)) as orphans,
               (select count(*)::int from public.export_logs e where not exists (select 1 from export_ops.exports x where x.id = e.id)) as untracked`);
      expect(counts).toEqual({ orphans: 0, untracked: 0 });
    } finally {
      await Promise.all([admin.end(), jobs.end(), app.end()]);
      await scratch.drop();
    }
  });
});
