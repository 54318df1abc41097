import { createClient } from '@supabase/supabase-js';
import { fileCleanupJob } from '../../lambdas/file-cleanup/job';
import { runJob } from '../../lambdas/shared/job';
import { seedExports } from '../../local/seed';
import type { LocalStack } from '../../local/stack';
import { jobDepsFor } from '../support/jobs';
import { databaseMode, startTestStack } from '../support/stack';

/**
 * public.export_ops_status against the same questions asked independently: each figure is
 * computed here from the app's own table (public.export_logs) and storage.objects, not from
 * the export_ops mirror the function reads, so a wrong join or predicate there shows.
 */
const HOUR_MS = 3_600_000;
const now = new Date();
const GRACE_HOURS = 0;
const RETENTION_HOURS = 24;
const MAX_ATTEMPTS = 5;
const cutoff = new Date(now.getTime() - 30 * 24 * HOUR_MS);
const metricsTo = new Date(Math.floor(now.getTime() / HOUR_MS) * HOUR_MS - HOUR_MS);
const metricsFrom = new Date(metricsTo.getTime() - 48 * HOUR_MS);

interface Status {
  jobs: Record<string, { last_run: { status: string; result: unknown } | null; last_failure: { error: string } | null; running: number; abandoned: number }>;
  files: { due: number; due_capped: boolean; due_bytes: number; stuck: number; flagged: Record<string, number>; orphans: { count: number } | null };
  logs: { eligible: number; eligible_capped: boolean; parts_open: Record<string, number> };
  metrics: { hours_pending: number };
  backfill: { completed_at: string | null };
}

/** The object a row's file_url names in the exports bucket, read with WHATWG URL (not our SQL parser). */
function objectNameOf(fileUrl: string | null): string | null {
  if (!fileUrl || !/^https?:/.test(fileUrl)) return null;
  const match = /^\/storage\/v1\/object\/(?:public|sign|authenticated)\/exports\/(.+)$/.exec(new URL(fileUrl).pathname);
  return match ? decodeURIComponent(match[1]) : null;
}

describe(`export_ops_status on ${databaseMode}`, () => {
  let stack: LocalStack;
  const status = async (cap?: number): Promise<Status> => {
    const client = createClient(stack.supabase.url, stack.serviceRoleKey, { auth: { persistSession: false } });
    const { data, error } = await client.rpc('export_ops_status', {
      p_now: now.toISOString(), p_bucket: 'exports', p_file_grace_hours: GRACE_HOURS, p_file_retention_hours: RETENTION_HOURS,
      p_max_file_attempts: MAX_ATTEMPTS, p_log_cutoff: cutoff.toISOString(),
      p_metrics_from: metricsFrom.toISOString(), p_metrics_to: metricsTo.toISOString(), ...(cap ? { p_count_cap: cap } : {}),
    });
    if (error) throw new Error(error.message);
    return data as Status;
  };
  const one = async (sql: string, params: unknown[] = []) => (await stack.db.query<{ n: number }>(sql, params)).rows[0].n;
  /** name → size of every object in the exports bucket. */
  const storedSizes = async () => new Map((await stack.db.query<{ name: string; size: string }>(
    `select name, metadata ->> 'size' as size from storage.objects where bucket_id = 'exports'`)).rows.map((o) => [o.name, Number(o.size)]));

  beforeAll(async () => {
    stack = await startTestStack();
    await seedExports({ db: stack.db, storageDir: stack.storageDir, supabaseUrl: stack.supabase.url }, { count: 1500, now, seed: 5 });
    // A partial run leaves a backlog and flags the malformed rows it met; a second finishes the
    // backfill, so every metric hour is known.
    const deps = await jobDepsFor(stack, 'file-cleanup');
    await runJob(fileCleanupJob, deps, { scheduledTime: now.toISOString(), maxFiles: 40 });
    await runJob(fileCleanupJob, deps, { scheduledTime: now.toISOString(), maxFiles: 40 });
    // One stuck row (failed MAX_ATTEMPTS times), one flagged row, a failed run and a run that
    // was killed 20 minutes ago.
    await stack.db.query(`insert into export_ops.file_claims (export_log_id, attempts, last_error, skip_reason)
                          select id, $1, 'Storage said 500', null from export_ops.exports where status = 'completed' order by id limit 1`,
    [MAX_ATTEMPTS]);
    await stack.db.query(`insert into export_ops.file_claims (export_log_id, skip_reason)
                          select id, 'path outside the owner''s folder' from export_ops.exports where status = 'completed' order by id desc limit 1`);
    await stack.db.query(`insert into export_ops.runs (job, status, started_at, finished_at, error)
                          values ('log-cleanup', 'failed', now() - interval '2 hours', now() - interval '2 hours', 'S3 said no'),
                                 ('metrics-aggregate', 'running', now() - interval '20 minutes', null, null)`);
  });
  afterAll(() => stack.stop());

  test('the file backlog, stuck and flagged rows equal what the app table and storage say', async () => {
    const s = await status();
    const dueWhere = `e.status = 'completed'
      and (e.expires_at <= $1::timestamptz - make_interval(hours => $2)
           or (e.expires_at is null and e.created_at <= $1::timestamptz - make_interval(hours => $3)))
      and not exists (select 1 from export_ops.file_claims c where c.export_log_id = e.id and c.skip_reason is not null)`;
    const params = [now.toISOString(), GRACE_HOURS, RETENTION_HOURS];
    const due = await one(`select count(*)::int as n from public.export_logs e where ${dueWhere}`, params);
    expect(due).toBeGreaterThan(0);
    expect(s.files.due).toBe(due);
    expect(s.files.due_capped).toBe(false);
    // Bytes of the due rows' objects, found by the object name in the row's own URL.
    const sizes = await storedSizes();
    const dueUrls = (await stack.db.query<{ file_url: string | null }>(`select e.file_url from public.export_logs e where ${dueWhere}`, params)).rows;
    const bytes = dueUrls.reduce((sum, r) => sum + (sizes.get(objectNameOf(r.file_url) ?? '') ?? 0), 0);
    expect(bytes).toBeGreaterThan(0);
    expect(s.files.due_bytes).toBe(bytes);
    expect(s.files.stuck).toBe(1);
    const flagged = (await stack.db.query<{ reason: string; n: number }>(
      `select skip_reason as reason, count(*)::int as n from export_ops.file_claims where skip_reason is not null group by 1`)).rows;
    expect(flagged.length).toBeGreaterThan(0);
    expect(s.files.flagged).toEqual(Object.fromEntries(flagged.map((f) => [f.reason, f.n])));
    expect(s.files.orphans).toEqual(expect.objectContaining({ count: expect.any(Number) }));
  });

  test('eligible log rows equal the retention rule applied to the app table', async () => {
    const s = await status();
    const sizes = await storedSizes();
    const old = (await stack.db.query<{ status: string; file_url: string | null }>(
      `select status, file_url from public.export_logs where created_at < $1`, [cutoff.toISOString()])).rows;
    const eligible = old.filter((r) => r.status === 'failed' || r.status === 'expired'
      || (r.status === 'completed' && !sizes.has(objectNameOf(r.file_url) ?? ''))).length;
    expect(eligible).toBeGreaterThan(0);
    expect(s.logs.eligible).toBe(eligible);
    expect(s.logs.parts_open).toEqual({});
  });

  test('counts stop at the cap and say so', async () => {
    const s = await status(3);
    expect(s.files).toEqual(expect.objectContaining({ due: 3, due_capped: true }));
    expect(s.logs).toEqual(expect.objectContaining({ eligible: 3, eligible_capped: true }));
  });

  test('each job shows its last run, its last failure and runs that were killed', async () => {
    const s = await status();
    expect(s.jobs['file-cleanup'].last_run).toEqual(expect.objectContaining({ status: 'partial', dry_run: false }));
    expect(s.jobs['log-cleanup'].last_failure).toEqual(expect.objectContaining({ error: 'S3 said no' }));
    expect(s.jobs['metrics-aggregate']).toEqual(expect.objectContaining({ running: 0, abandoned: 1 }));
    expect(s.backfill.completed_at).not.toBeNull();
    // No metrics run yet: every hour of the range waits.
    expect(s.metrics.hours_pending).toBe(48);
  });

  test('a plan kept for the connection answers each call for its own arguments', async () => {
    // The status is PL/pgSQL, whose plans a connection keeps; after five calls PostgreSQL may
    // keep one generic plan for all arguments. The same calls, planned for their own arguments
    // (force_custom_plan) and with one plan for all (force_generic_plan), on one connection each.
    const DAY_MS = 24 * HOUR_MS;
    const calls = [[now, 100_000], [now, 3], [new Date(now.getTime() - 10 * DAY_MS), 100_000], [new Date(now.getTime() - 400 * DAY_MS), 7]]
      .map(([at, cap]) => [(at as Date).toISOString(), 'exports', GRACE_HOURS, RETENTION_HOURS, MAX_ATTEMPTS,
        new Date((at as Date).getTime() - 30 * DAY_MS).toISOString(), metricsFrom.toISOString(), metricsTo.toISOString(), cap]);
    const answers = (mode: string) => stack.db.transaction(async (tx) => {
      await tx.query(`set local plan_cache_mode = ${mode}`);
      const out: Status[] = [];
      for (let round = 0; round < 3; round++) {
        for (const args of calls) {
          out.push((await tx.query<{ s: Status }>('select public.export_ops_status($1, $2, $3, $4, $5, $6, $7, $8, $9) as s', args)).rows[0].s);
        }
      }
      return out;
    });
    const custom = await answers('force_custom_plan');
    // The arguments matter: the four calls do not all answer alike.
    expect(new Set(custom.slice(0, 4).map((s) => `${s.files.due}/${s.logs.eligible}`)).size).toBeGreaterThan(2);
    expect(await answers('force_generic_plan')).toEqual(custom);
    expect(await answers('auto')).toEqual(custom);
  });

  test('is refused to anon and authenticated keys', async () => {
    const anon = createClient(stack.supabase.url, stack.anonKey, { auth: { persistSession: false } });
    const { error } = await anon.rpc('export_ops_status', { p_now: now.toISOString() });
    expect(error).not.toBeNull();
  });
});
