import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import type { LocalStack } from '../local/stack';
import type { SupabaseClient } from '@supabase/supabase-js';
import type { Database } from '../local/db/database';
import { createServiceClient } from '../lambdas/shared/supabase';
import type { BenchOptions } from './main';
import { type BundleRun, invokeBundle, peakRssFigure } from './run-job';
import { preparedDatabase, print, spread, trackPeakRss } from './support';

const run = promisify(execFile);
/** The job's "now": rows are seeded 40 to 90 days before it, all past the 30-day retention. */
const NOW = new Date('2026-11-29T03:00:00Z');
/** Rows per user in the seeded history. */
const ROWS_PER_USER = 25;
/** The original cron route's page and batch sizes, for the baseline. */
const BASELINE_PAGE = 1000;
const BASELINE_DELETE_BATCH = 100;
/** Runs per figure (each on a fresh copy of the prepared database); the median is printed, with min and max. */
const RUNS = 3;
/** `--large`: one run at this size, with its floor. */
const LARGE_ROWS = 10_000_000;

/** Inserts `count` eligible rows (failed/expired/completed without a file) in one statement. */
export async function seedEligible(db: Database, count: number): Promise<void> {
  await db.query(`insert into auth.users (id, email) select md5('bench-user:' || u)::uuid, 'b' || u || '@example.com'
                    from generate_series(0, $1::int - 1) u on conflict do nothing`, [Math.ceil(count / ROWS_PER_USER)]);
  await db.query(
    `insert into public.export_logs (export_id, user_id, "timestamp", format, config, conversation_count, file_size, status,
                                     file_url, expires_at, error_message, created_at, updated_at)
     select md5('bench-export:' || i || ':' || $3)::uuid, md5('bench-user:' || (i % $2))::uuid, c,
            (array['json', 'jsonl', 'csv', 'markdown'])[1 + i % 4],
            jsonb_build_object('scope', 'all', 'includeMetadata', true, 'filters', jsonb_build_object('tags', jsonb_build_array('a', 'b'))),
            i % 1500, case when i % 3 = 0 then null else 1000 + i * 37 end,
            (array['failed', 'expired', 'completed'])[1 + i % 3],
            case when i % 3 = 0 then null else '/api/export/download/training-data-all-' || i || '.json' end,
            c + interval '24 hours', case when i % 3 = 0 then 'TimeoutError: export exceeded 300 s' end, c, c + interval '5 seconds'
       from generate_series(1, $1::int) i, lateral (select $4::timestamptz - make_interval(days => 40, secs => (i::float8 / $1) * 50 * 86400)) t(c)`,
    [count, Math.ceil(count / ROWS_PER_USER), Date.now(), NOW.toISOString()],
  );
}

/** Seconds of CPU all PostgreSQL server processes on this machine have used (Linux `ps`; NaN elsewhere). */
async function postgresCpuSeconds(): Promise<number> {
  try {
    const { stdout } = await run('ps', ['-C', 'postgres', '-o', 'cputimes=']);
    return stdout.split('\n').filter(Boolean).reduce((sum, v) => sum + Number(v), 0);
  } catch {
    return Number.NaN;
  }
}

/** One run's figures: wall time and peak RSS of the job's process, and where the CPU went. */
interface JobFigures {
  ms: number;
  rssMb: number;
  rssAtExit?: BundleRun<unknown>['rssAtExit'];
  /** CPU of the job's process. */
  cpuMs: number;
  /** CPU of this process: the local stack's HTTP front and S3 server. */
  stackCpuMs: number;
  /** CPU of the PostgreSQL server (its processes, to the second). */
  postgresCpuMs: number;
}

/**
 * One run in a child process of its own, so its peak RSS is its own and not the local stack's:
 * the job as Lambda runs it (invokeBundle), or the original route's way (tsx).
 */
async function timeJob(stack: LocalStack, rows: number, mode: 'job' | 'baseline' = 'job'): Promise<JobFigures> {
  const stackCpu = process.cpuUsage();
  const postgresCpu = await postgresCpuSeconds();
  const figures = mode === 'job'
    ? await invokeBundle<{ deleted_count: number; archived_count: number }>('log-cleanup', { scheduledTime: NOW.toISOString() },
      { ...stack.env, POWERTOOLS_LOG_LEVEL: 'ERROR' })
    : await runBaselineChild(stack);
  const stackCpuMs = ((used) => (used.user + used.system) / 1e3)(process.cpuUsage(stackCpu));
  const postgresCpuMs = ((await postgresCpuSeconds()) - postgresCpu) * 1000;
  const { deleted_count: deleted, archived_count: archived } = figures.result;
  if (deleted !== rows || (mode === 'job' && archived !== rows)) {
    throw new Error(`bench: expected ${rows} rows archived and deleted, got ${JSON.stringify(figures.result)}`);
  }
  return { ms: figures.ms, rssMb: figures.rssMb, rssAtExit: figures.rssAtExit, cpuMs: figures.cpuMs, stackCpuMs, postgresCpuMs };
}

/** The original route's way in a child process (tsx), run as it ran before: no Lambda settings. */
async function runBaselineChild(stack: LocalStack) {
  const env = { ...process.env, ...stack.env, AWS_REGION: 'eu-west-1' };
  const { stdout } = await run(process.execPath, [require.resolve('tsx/cli'), __filename, '--child'], { env, maxBuffer: 64 * 1024 * 1024 });
  const line = stdout.split('\n').find((l) => l.startsWith('{"bench"'));
  if (!line) throw new Error(`bench: the original way's child printed no result:\n${stdout.slice(-2000)}`);
  return (JSON.parse(line) as { bench: BundleRun<{ deleted_count: number; archived_count: number }> }).bench;
}

/** The child of the original route's way: runs it once from the environment and prints its time and peak RSS. */
async function child(): Promise<void> {
  const figures = await timeBaseline(createServiceClient(process.env.SUPABASE_URL as string, process.env.SUPABASE_SERVICE_ROLE_KEY as string));
  const cpuMs = (process.resourceUsage().userCPUTime + process.resourceUsage().systemCPUTime) / 1e3;
  const result = { deleted_count: figures.rows, archived_count: 0 };
  process.stdout.write(`${JSON.stringify({ bench: { result, ms: figures.ms, rssMb: figures.rssMb, cpuMs } })}\n`);
}

if (require.main === module && process.argv[2] === '--child') {
  child().catch((error: unknown) => {
    process.stderr.write(`${error instanceof Error ? error.stack : String(error)}\n`);
    process.exitCode = 1;
  });
}

/** The original route's way: every old row into memory (1000 a request), then delete by id in hundreds. */
async function timeBaseline(supabase: SupabaseClient): Promise<{ ms: number; rssMb: number; rows: number }> {
  const cutoff = new Date(NOW.getTime() - 30 * 86400_000).toISOString();
  const rss = trackPeakRss();
  const started = Date.now();
  const all: Record<string, unknown>[] = [];
  for (let from = 0; ; from += BASELINE_PAGE) {
    const { data, error } = await supabase.from('export_logs').select('*').lt('created_at', cutoff)
      .order('id').range(from, from + BASELINE_PAGE - 1);
    if (error) throw new Error(error.message);
    all.push(...data);
    if (data.length < BASELINE_PAGE) break;
  }
  for (let i = 0; i < all.length; i += BASELINE_DELETE_BATCH) {
    const ids = all.slice(i, i + BASELINE_DELETE_BATCH).map((r) => r.id as string);
    const { error } = await supabase.from('export_logs').delete().in('id', ids);
    if (error) throw new Error(error.message);
  }
  const ms = Date.now() - started;
  rss.stop();
  return { ms, rssMb: rss.peakMb(), rows: all.length };
}

/** The floor: psql COPY of the same rows through gzip, then one DELETE. */
async function timeFloor(databaseUrl: string): Promise<number> {
  const cutoff = new Date(NOW.getTime() - 30 * 86400_000).toISOString();
  const started = Date.now();
  await run('bash', ['-o', 'pipefail', '-c',
    `psql "$DB" -Atc "copy (select row_to_json(e) from public.export_logs e where created_at < '${cutoff}' order by created_at, id) to stdout" | gzip > /dev/null && ` +
    `psql "$DB" -Atc "delete from public.export_logs where created_at < '${cutoff}'"`], { env: { ...process.env, DB: databaseUrl } });
  return Date.now() - started;
}

/** The database name of a stack's connection, for psql. */
async function databaseUrlOf(stack: LocalStack, serverUrl: string): Promise<string> {
  const { rows: [{ name }] } = await stack.db.query<{ name: string }>('select current_database() as name');
  return Object.assign(new URL(serverUrl), { pathname: `/${name}` }).toString();
}

/**
 * `npm run bench log-cleanup`: the job's time and peak RSS at 100k and 1M rows (RSS should stay
 * flat), the psql+gzip floor beside each 1M run, and the original route's way at 100k; every
 * figure the median of RUNS runs, each on a fresh copy of one prepared database. `--large` adds
 * one run at 10M rows with its floor.
 */
export async function bench(options: BenchOptions): Promise<void> {
  const runs = options.quick ? 1 : RUNS;
  const [small, large] = options.quick ? [10_000, 20_000] : [100_000, 1_000_000];
  const label = (rows: number) => `log-cleanup ${rows.toLocaleString('en-US')} rows`;
  const measured = async (rows: number, times: number, withFloor: boolean) => {
    const seeded = await preparedDatabase(options.databaseUrl, (db) => seedEligible(db, rows));
    const job: JobFigures[] = [];
    const floor: number[] = [];
    try {
      for (let i = 0; i < times; i++) {
        const stack = await seeded.start();
        try { job.push(await timeJob(stack, rows)); } finally { await stack.stop(); }
        if (!withFloor) continue;
        const copy = await seeded.start();
        try { floor.push(await timeFloor(await databaseUrlOf(copy, options.databaseUrl))); } finally { await copy.stop(); }
      }
      const baseline: JobFigures[] = [];
      if (!withFloor) {
        for (let i = 0; i < times; i++) {
          const stack = await seeded.start();
          try { baseline.push(await timeJob(stack, rows, 'baseline')); } finally { await stack.stop(); }
        }
      }
      return { job, floor, baseline };
    } finally {
      await seeded.drop();
    }
  };
  const seconds = (ms: number[]) => `${spread(ms.map((v) => v / 1000), 1)} s`;
  const rates = (rows: number, ms: number[]) => `${spread(ms.map((v) => rows / (v / 1000)))} rows/s`;

  const first = await measured(small, runs, false);
  print(`${label(small)}: archive+delete, median [min–max] of ${runs}`, `${seconds(first.job.map((r) => r.ms))}, ${rates(small, first.job.map((r) => r.ms))}`);
  print(`${label(small)}: peak RSS MB`, peakRssFigure(first.job));
  print(`original route's way ${small.toLocaleString('en-US')} rows (all in memory, delete by 100)`, seconds(first.baseline.map((r) => r.ms)));
  print(`original route's way ${small.toLocaleString('en-US')} rows: peak RSS MB`, spread(first.baseline.map((r) => r.rssMb)));
  print(`original route's way / log-cleanup, ${small.toLocaleString('en-US')} rows`, `${spread(first.baseline.map((b, i) => b.ms / first.job[i].ms), 2)}x`);

  for (const [rows, times] of [[large, runs], ...(options.large ? [[LARGE_ROWS, 1]] : [])]) {
    const { job, floor } = await measured(rows, times, true);
    print(`${label(rows)}: archive+delete, median [min–max] of ${times}`, `${seconds(job.map((r) => r.ms))}, ${rates(rows, job.map((r) => r.ms))}`);
    print(`${label(rows)}: peak RSS MB`, peakRssFigure(job));
    // Where the time goes: the machine has two cores, so the sum over the wall time says how busy it was.
    print(`${label(rows)}: CPU s of the job / local stack / PostgreSQL`,
      [job.map((r) => r.cpuMs), job.map((r) => r.stackCpuMs), job.map((r) => r.postgresCpuMs)].map((ms) => spread(ms.map((v) => v / 1000), 1)).join(' / '));
    print(`floor (psql COPY | gzip + DELETE), ${rows.toLocaleString('en-US')} rows`, seconds(floor));
    print(`${label(rows)}: time / floor (same run)`, `${spread(job.map((r, i) => r.ms / floor[i]), 2)}x (aim <= 1.5x)`);
  }
}
