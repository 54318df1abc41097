/**
 * Contract of the metrics job's port: the same cases against the in-memory fake (./fakes.ts, what
 * logic.test.ts runs over) and the supabase-js adapter on the local stack (the metrics SQL
 * functions and export_ops.metric_windows), so the fake cannot drift from the SQL.
 */
import { randomUUID } from 'node:crypto';
import { EMPTY_STATS } from '../../../lambdas/metrics-aggregate/aggregate';
import type { MetricsWindowStore } from '../../../lambdas/metrics-aggregate/ports';
import { SupabaseWindowStore } from '../../../lambdas/metrics-aggregate/window-store';
import { HOUR_MS, type Window } from '../../../lambdas/metrics-aggregate/windows';
import { createServiceClient, SupabaseRunLedger } from '../../../lambdas/shared/supabase';
import { describeContract, inMemory, onLocalStack } from '../../support/contract';
import { FakeClock } from '../shared/fakes';
import { FakeWindowStore, type FakeExport } from './fakes';

const USERS = ['00000000-0000-0000-0000-0000000000a1', '00000000-0000-0000-0000-0000000000a2'];

interface WindowWorld {
  windows: MetricsWindowStore;
  /** A closed hour, a few hours back, the cases work in. */
  hour: Window;
  newRun(): Promise<string>;
  addExport(e: FakeExport): Promise<void>;
  /** Every claim's lease runs out. */
  expireClaims(): Promise<void>;
  /** A real run of `job` finished at `at`. */
  finishRun(job: string, at: Date): Promise<void>;
}

const hourBack = (nowMs: number, hours: number): Window => {
  const start = Math.floor(nowMs / HOUR_MS) * HOUR_MS - hours * HOUR_MS;
  return { start: new Date(start), end: new Date(start + HOUR_MS) };
};

const fake = inMemory<WindowWorld>(() => {
  const clock = new FakeClock(Date.now());
  const windows = new FakeWindowStore(clock);
  return {
    windows,
    hour: hourBack(clock.nowMs(), 3),
    newRun: async () => randomUUID(),
    async addExport(e) {
      windows.exports.push(e);
    },
    async expireClaims() {
      clock.advance(2 * HOUR_MS);
    },
    async finishRun(job, at) {
      windows.lastSuccessTimes[job] = at.toISOString();
    },
  };
}, 'in-memory fake');

const real = onLocalStack<WindowWorld>('supabase-js adapter', {
  async prepare(stack) {
    await stack.db.query('insert into auth.users (id) values ($1), ($2) on conflict do nothing', USERS);
    // Every hour is known: no backfill in progress (its own tests are elsewhere).
    await stack.db.query('update export_ops.backfill set completed_at = coalesce(completed_at, now())');
  },
  async world(stack) {
    await stack.db.query('delete from export_ops.metric_windows');
    await stack.db.query('delete from public.export_logs');
    await stack.db.query('delete from export_ops.exports');
    await stack.db.query('delete from export_ops.runs');
    const client = createServiceClient(stack.supabase.url, stack.serviceRoleKey);
    const runs = new SupabaseRunLedger(client);
    return {
      windows: new SupabaseWindowStore(client),
      hour: hourBack(Date.now(), 3),
      newRun: () => runs.start({ job: 'metrics-aggregate', scheduledTime: new Date(), dryRun: false }),
      async addExport(e) {
        const finished = new Date(e.finishedAt).toISOString();
        const { rows } = await stack.db.query<{ id: string }>(
          `insert into public.export_logs (export_id, user_id, "timestamp", format, config, conversation_count, status, created_at, updated_at)
           values (gen_random_uuid(), $1, $2, $3, '{}', 5, $4, $2, $2) returning id`,
          [e.userId, finished, e.format, e.status],
        );
        // The trigger stamped the insert's own time; the case wants the finish inside its hour.
        await stack.db.query(`update export_ops.exports set finished_at = $2, finished_source = 'observed' where id = $1`, [rows[0].id, finished]);
      },
      async expireClaims() {
        await stack.db.query(`update export_ops.metric_windows set claimed_at = claimed_at - interval '2 hours' where emitted_at is null`);
      },
      async finishRun(job, at) {
        await stack.db.query(
          `insert into export_ops.runs (job, scheduled_time, dry_run, status, started_at, finished_at) values ($1, $2, false, 'succeeded', $2, $2)`,
          [job, at.toISOString()],
        );
      },
    };
  },
});

describeContract('metrics-aggregate port contract', [fake, real], (world) => {
  const seed = async (w: WindowWorld) => {
    const at = (minutes: number) => w.hour.start.getTime() + minutes * 60_000;
    await w.addExport({ finishedAt: at(5), status: 'completed', format: 'json', userId: USERS[0] });
    await w.addExport({ finishedAt: at(10), status: 'failed', format: 'json', userId: USERS[0] });
    await w.addExport({ finishedAt: at(59), status: 'completed', format: 'csv', userId: USERS[1] });
    // Outside the hour on both sides.
    await w.addExport({ finishedAt: at(-1), status: 'failed', format: 'csv', userId: USERS[1] });
    await w.addExport({ finishedAt: at(60), status: 'completed', format: 'json', userId: USERS[1] });
  };

  test('aggregate counts the exports that finished in [start, end), per format, with the top users', async () => {
    const w = await world();
    await seed(w);
    const agg = await w.windows.aggregateWindow(w.hour, 1);
    // The SQL writes its times as jsonb does (+00:00); the same instant is what matters.
    expect(new Date(agg.window_start).getTime()).toBe(w.hour.start.getTime());
    expect(agg).toMatchObject({
      all: { total: 3, succeeded: 2, failed: 1 },
      by_format: { json: { total: 2, succeeded: 1, failed: 1 }, csv: { total: 1, succeeded: 1, failed: 0 } },
      distinct_users: 2,
      top_users: [{ user_id: USERS[0], exports: 2 }],
    });
    expect(agg.all?.failure_rate).toBeCloseTo(1 / 3, 12);
    expect(agg.by_format.markdown).toBeUndefined();
    expect((await w.windows.aggregateWindow(hourBack(w.hour.start.getTime(), 5))).all).toEqual(EMPTY_STATS);
  });

  test('a window is claimed by one run at a time, emitted once, and no longer pending', async () => {
    const w = await world();
    await seed(w);
    const [a, b] = [await w.newRun(), await w.newRun()];
    const range = { from: new Date(w.hour.start.getTime() - HOUR_MS), to: w.hour.end };
    expect((await w.windows.pendingWindows(range.from, range.to)).map((d) => d.toISOString()))
      .toEqual([range.from.toISOString(), w.hour.start.toISOString()]);
    const agg = await w.windows.claimWindow(w.hour, a, 900);
    expect(agg?.all).toMatchObject({ total: 3 });
    expect(await w.windows.claimWindow(w.hour, b, 900)).toBeNull();
    // A run that did not claim it cannot record or release it.
    expect(await w.windows.markEmitted(w.hour, b, 5, agg!)).toBe(false);
    expect(await w.windows.releaseWindow(w.hour, b)).toBe(false);
    expect(await w.windows.markEmitted(w.hour, a, 5, agg!)).toBe(true);
    // A retry after a lost answer is answered true again.
    expect(await w.windows.markEmitted(w.hour, a, 5, agg!)).toBe(true);
    expect((await w.windows.pendingWindows(range.from, range.to)).map((d) => d.toISOString())).toEqual([range.from.toISOString()]);
    await w.expireClaims();
    expect(await w.windows.claimWindow(w.hour, b, 900)).toBeNull();
    expect(await w.windows.releaseWindow(w.hour, a)).toBe(false);
  });

  test('a claim whose lease ran out is taken over; the first run then learns it lost the window', async () => {
    const w = await world();
    const [a, b] = [await w.newRun(), await w.newRun()];
    const agg = await w.windows.claimWindow(w.hour, a, 900);
    expect(agg?.all).toMatchObject({ total: 0, failure_rate: null });
    await w.expireClaims();
    expect(await w.windows.claimWindow(w.hour, b, 900)).not.toBeNull();
    expect(await w.windows.markEmitted(w.hour, a, 5, agg!)).toBe(false);
    expect(await w.windows.markEmitted(w.hour, b, 5, agg!)).toBe(true);
  });

  test('a released claim can be claimed again at once; an hour not over cannot be claimed', async () => {
    const w = await world();
    const [a, b] = [await w.newRun(), await w.newRun()];
    expect(await w.windows.claimWindow(w.hour, a, 900)).not.toBeNull();
    expect(await w.windows.releaseWindow(w.hour, a)).toBe(true);
    expect(await w.windows.claimWindow(w.hour, b, 900)).not.toBeNull();
    const current = hourBack(Date.now(), 0);
    expect(await w.windows.claimWindow(current, a, 900)).toBeNull();
  });

  test('lastSuccess gives the finish of each job\'s last real completed run', async () => {
    const w = await world();
    const earlier = new Date(Date.now() - 5 * HOUR_MS);
    const later = new Date(Date.now() - 2 * HOUR_MS);
    await w.finishRun('log-cleanup', earlier);
    await w.finishRun('log-cleanup', later);
    const last = await w.windows.lastSuccess();
    expect(new Date(last['log-cleanup'] as string).getTime()).toBe(later.getTime());
  });
});
