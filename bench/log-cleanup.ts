import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import type { LocalStack } from '../local/stack';
import type { SupabaseClient } from '@supabase/supabase-js';
import type { Database } from '../local/db/database';
import { createJobDeps, runJob } from '../lambdas/shared/job';
import { createServiceClient } from '../lambdas/shared/supabase';
import { logCleanupJob } from '../lambdas/log-cleanup/job';
import type { BenchOptions } from './main';
import { print, startBenchStack, trackPeakRss } from './support';

const run = promisify(execFile);
/** The job's "now": rows are seeded 40 to 90 days before it, all past the 30-day retention. */
const NOW = new Date('2026-11-29T03:00:00Z');
/** Rows per user in the seeded history. */
const ROWS_PER_USER = 25;
/** The original cron route's page and batch sizes, for the baseline. */
const BASELINE_PAGE = 1000;
const BASELINE_DELETE_BATCH = 100;

/** Inserts `count` eligible rows (failed/expired/completed without a file) in one statement. */
async function seedEligible(db: Database, count: number): Promise<void> {
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
  // Rows this old have long been vacuumed (hint bits set, statistics current) on a real table.
  await db.query('vacuum analyze public.export_logs');
}

const rate = (rows: number, ms: number) => `${Math.round(rows / (ms / 1000)).toLocaleString('en-US')} rows/s`;

/**
 * Our job in a child process of its own, as Lambda runs it, so its peak RSS is the job's and
 * not the local stack's (the HTTP front and the S3 server live in this process).
 */
async function timeJob(stack: LocalStack, rows: number, mode: 'job' | 'baseline' = 'job'): Promise<{ ms: number; rssMb: number }> {
  const { stdout } = await run(process.execPath, [require.resolve('tsx/cli'), __filename, '--child', mode], {
    env: { ...process.env, ...stack.env, POWERTOOLS_LOG_LEVEL: 'ERROR' },
    maxBuffer: 64 * 1024 * 1024,
  });
  const line = stdout.split('\n').find((l) => l.startsWith('{"bench"'));
  if (!line) throw new Error(`bench: the job's child printed no result:\n${stdout.slice(-2000)}`);
  const { bench: figures } = JSON.parse(line) as { bench: { ms: number; rssMb: number; deleted: number; archived: number } };
  if (figures.deleted !== rows || (mode === 'job' && figures.archived !== rows)) {
    throw new Error(`bench: expected ${rows} rows archived and deleted, got ${JSON.stringify(figures)}`);
  }
  return figures;
}

/** The child: runs the job (or the original route's way) once from the environment and prints its time and peak RSS. */
async function child(mode: string): Promise<void> {
  if (mode === 'baseline') {
    const figures = await timeBaseline(createServiceClient(process.env.SUPABASE_URL as string, process.env.SUPABASE_SERVICE_ROLE_KEY as string));
    process.stdout.write(`${JSON.stringify({ bench: { ...figures, deleted: figures.rows, archived: 0 } })}\n`);
    return;
  }
  const deps = await createJobDeps(logCleanupJob);
  const rss = trackPeakRss();
  const started = Date.now();
  const result = await runJob(logCleanupJob, deps, { scheduledTime: NOW.toISOString() });
  const ms = Date.now() - started;
  rss.stop();
  const figures = { ms, rssMb: rss.peakMb(), deleted: result.deleted_count, archived: result.archived_count };
  process.stdout.write(`${JSON.stringify({ bench: figures })}\n`);
}

if (require.main === module && process.argv[2] === '--child') {
  child(process.argv[3]).catch((error: unknown) => {
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

/**
 * `npm run bench log-cleanup`: rows/s and peak RSS of the job at two sizes (RSS should stay
 * flat), the original route's way at the smaller size, and the psql+gzip floor at the larger one.
 */
export async function bench(options: BenchOptions): Promise<void> {
  const [small, large] = options.quick ? [10_000, 20_000] : [100_000, 1_000_000];
  const stack = await startBenchStack(options.databaseUrl);
  const { rows: [{ name }] } = await stack.db.query<{ name: string }>('select current_database() as name');
  const dbUrl = Object.assign(new URL(options.databaseUrl), { pathname: `/${name}` }).toString();
  try {
    for (const rows of [small, large]) {
      await seedEligible(stack.db, rows);
      const ours = await timeJob(stack, rows);
      print(`log-cleanup ${rows.toLocaleString('en-US')} rows: archive+delete`, `${(ours.ms / 1000).toFixed(1)} s, ${rate(rows, ours.ms)}`);
      print(`log-cleanup ${rows.toLocaleString('en-US')} rows: peak RSS`, `${ours.rssMb} MB`);
      if (rows === large) {
        await seedEligible(stack.db, rows);
        const floor = await timeFloor(dbUrl);
        print(`floor (psql COPY | gzip + DELETE), ${rows.toLocaleString('en-US')} rows`, `${(floor / 1000).toFixed(1)} s, ${rate(rows, floor)}`);
        print('log-cleanup time / floor', `${(ours.ms / floor).toFixed(2)}x (target <= 3x)`);
      }
    }
    await seedEligible(stack.db, small);
    const baseline = await timeJob(stack, small, 'baseline');
    print(`original route's way ${small.toLocaleString('en-US')} rows (all in memory, delete by 100)`, `${(baseline.ms / 1000).toFixed(1)} s, ${rate(small, baseline.ms)}`);
    print(`original route's way ${small.toLocaleString('en-US')} rows: peak RSS`, `${baseline.rssMb} MB`);
  } finally {
    await stack.stop();
  }
}
