import { createServiceClient } from '../lambdas/shared/supabase';
import { seedExports } from '../local/seed';
import type { LocalStack } from '../local/stack';
import type { BenchOptions } from './main';
import { invokeBundle, peakRssFigure } from './run-job';
import { print, settleServer, spread, startBenchStack } from './support';

/** Fresh stack on a scratch database, seeded with `count` expired exports that all have files. */
async function seededStack(options: BenchOptions, count: number): Promise<LocalStack> {
  const stack = await startBenchStack(options.databaseUrl);
  await seedExports({ db: stack.db, storageDir: stack.storageDir, supabaseUrl: stack.supabase.url }, { count, mix: 'expired-files', malformed: false });
  await settleServer(options.databaseUrl);
  return stack;
}

const totalRequests = (stack: LocalStack) => [...stack.supabase.requestCounts.values()].reduce((a, b) => a + b, 0);

/**
 * Our job as Lambda runs it (the bundle, in its own process, so its RSS is its own): files/s,
 * HTTP calls per 1000 files (all calls of the run, fixed ones included), peak RSS.
 */
async function measureJob(options: BenchOptions, count: number) {
  const stack = await seededStack(options, count);
  try {
    const before = totalRequests(stack);
    const { result, rssMb, rssAtExit } = await invokeBundle<{ deleted_count: number; duration_ms: number }>('file-cleanup',
      { scheduledTime: new Date().toISOString() }, { ...stack.env, POWERTOOLS_LOG_LEVEL: 'WARN' });
    // The job's own clock, as in its result: the bundle's module load is not the job's speed.
    const seconds = result.duration_ms / 1000;
    const calls = totalRequests(stack) - before;
    return { deleted: result.deleted_count, seconds, filesPerSecond: result.deleted_count / seconds, callsPer1000: (calls / result.deleted_count) * 1000, rssMb, rssAtExit };
  } finally {
    await stack.stop();
  }
}

/**
 * Rows of the backlog the original route's way works through per run. Its per-row loop is
 * steady (one remove() and one update per row, ~13 ms on a 2-core machine), so its time for the
 * whole backlog is extrapolated from these: all 10,000 took 2 minutes a run, 5 runs 11 minutes
 * of every full bench.
 */
const BASELINE_ROWS = 2_000;

/**
 * The original cron route's way: select every expired row (page by page: the API returns at most 1000), then
 * for each row one remove() and one update. The select is timed whole; the per-row loop over the
 * first BASELINE_ROWS rows, and its time scaled to every row selected.
 */
async function measureBaseline(options: BenchOptions, count: number) {
  const stack = await seededStack(options, count);
  try {
    const supabase = createServiceClient(stack.supabase.url, stack.serviceRoleKey);
    const started = process.hrtime.bigint();
    const rows: { id: string; file_url: string }[] = [];
    for (let from = 0; ; from += 1000) {
      const { data, error } = await supabase.from('export_logs').select('id, file_url')
        .eq('status', 'completed').lte('expires_at', new Date().toISOString()).order('id').range(from, from + 999);
      if (error) throw error;
      rows.push(...(data ?? []));
      if (!data || data.length < 1000) break;
    }
    const selected = process.hrtime.bigint();
    const worked = rows.slice(0, BASELINE_ROWS);
    let deleted = 0;
    for (const row of worked) {
      // The original cron route's way: the object path is what follows the bucket in the URL.
      const path = decodeURIComponent(new URL(row.file_url).pathname.split('/exports/')[1] ?? '');
      const removal = await supabase.storage.from('exports').remove([path]);
      if (removal.error) continue;
      const update = await supabase.from('export_logs').update({ status: 'expired' }).eq('id', row.id);
      if (!update.error) deleted += 1;
    }
    const selectSeconds = Number(selected - started) / 1e9;
    const loopSeconds = Number(process.hrtime.bigint() - selected) / 1e9;
    const scale = rows.length / Math.max(worked.length, 1);
    const seconds = selectSeconds + loopSeconds * scale;
    return { seconds, filesPerSecond: (deleted * scale) / seconds };
  } finally {
    await stack.stop();
  }
}

/** Runs per figure, each on a freshly seeded stack; the median is printed, with min and max. */
const RUNS = 3;
/**
 * Runs at the size measured beside the original route's per-row way. That way's rate varied
 * 84-115 files/s between runs of one bench (other tenants of the machine), so the speed-up's
 * median of 3 moved 21 % between two full runs; 5 pairs hold it steadier (a run is ~1.5 min).
 */
const RUNS_WITH_BASELINE = 5;

/**
 * `npm run bench file-cleanup`: files/s, HTTP calls per 1000 files and peak RSS of the job at
 * 10k and 100k due files, and the original route's per-row way at 10k beside it, run by run.
 */
export async function bench(options: BenchOptions): Promise<void> {
  const [small, large] = options.quick ? [1_000, 5_000] : [10_000, 100_000];
  for (const size of [small, large]) {
    const runs = options.quick ? 1 : size === small ? RUNS_WITH_BASELINE : RUNS;
    const ours: Awaited<ReturnType<typeof measureJob>>[] = [];
    const baseline: Awaited<ReturnType<typeof measureBaseline>>[] = [];
    for (let i = 0; i < runs; i++) {
      ours.push(await measureJob(options, size));
      if (size === small) baseline.push(await measureBaseline(options, size));
    }
    const at = `@ ${size.toLocaleString('en-US')}`;
    print(`ours ${at}: files deleted (each run)`, ours.map((r) => r.deleted).join(', '));
    print(`ours ${at}: files/s, median [min–max] of ${runs}`, spread(ours.map((r) => r.filesPerSecond)));
    print(`ours ${at}: HTTP calls per 1000 files (target <= 3)`, spread(ours.map((r) => r.callsPer1000), 2));
    print(`ours ${at}: job peak RSS MB (target < 200, flat)`, peakRssFigure(ours));
    if (baseline.length) {
      print(`original route's per-row way ${at}: files/s (its first ${Math.min(BASELINE_ROWS, size).toLocaleString('en-US')} files, time scaled to all)`, spread(baseline.map((r) => r.filesPerSecond)));
      print(`speed-up ${at}, run by run (target >= 20x)`, `${spread(ours.map((r, i) => r.filesPerSecond / baseline[i].filesPerSecond), 1)}x`);
    }
  }
}
