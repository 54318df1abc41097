import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { fileCleanupJob } from '../../../lambdas/file-cleanup/job';
import { runJob } from '../../../lambdas/shared/job';
import { seedExports } from '../../../local/seed';
import type { LocalStack } from '../../../local/stack';
import { jobDepsFor } from '../../support/jobs';
import { databaseMode, startTestStack } from '../../support/stack';
import { disagreements } from './fixtures';

const now = new Date('2026-11-29T02:00:00Z');
const ROOT = join(__dirname, '..', '..', '..');
const NODE = join(ROOT, 'node_modules', '.bin', 'node');
const LEASE_SECONDS = 1;

const waitFor = async (check: () => boolean, what: string, timeoutMs = 30_000) => {
  const until = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > until) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
};

describe(`file cleanup across crashes and overlapping runs, on ${databaseMode}`, () => {
  let stack: LocalStack;
  beforeEach(async () => {
    stack = await startTestStack();
    await seedExports({ db: stack.db, storageDir: stack.storageDir, supabaseUrl: stack.supabase.url }, { count: 2500, days: 10, now, malformed: false });
  });
  afterEach(() => stack.stop());

  const completedDue = async () =>
    (await stack.db.query<{ n: number }>(
      `select count(*)::int as n from public.export_logs where status = 'completed' and expires_at <= $1`, [now.toISOString()])).rows[0].n;

  test('killed between the storage call and the table update, then rerun: table and bucket agree', async () => {
    const markHang = stack.supabase.faults.add({ path: '/rest/v1/rpc/export_ops_mark_files_expired', fault: { hang: true } });
    let removed = 0;
    stack.supabase.observe(({ method, path }) => {
      if (method === 'DELETE' && path === '/storage/v1/object/exports') removed += 1;
    });
    const child = spawn(NODE, [join(ROOT, 'cli', 'export-ops.js'), 'run', 'file-cleanup', '--now', now.toISOString(), '--json'], {
      env: { ...process.env, ...stack.env, FILE_CLAIM_LEASE_SECONDS: String(LEASE_SECONDS) },
      stdio: 'ignore',
    });
    const exited = new Promise((resolve) => child.once('exit', resolve));
    await waitFor(() => markHang.matched >= 1 && removed >= 1, 'the first batch to reach the table update');
    child.kill('SIGKILL');
    await exited;

    const crashed = await disagreements(stack, now);
    expect(crashed.gone_but_unexpired).toBeGreaterThan(0); // the crash really hit the window
    expect(crashed.expired_but_live).toBe(0);

    stack.supabase.faults.clear();
    await new Promise((r) => setTimeout(r, LEASE_SECONDS * 1000 + 100));
    const rerun = await runJob(fileCleanupJob, await jobDepsFor(stack, 'file-cleanup'), { scheduledTime: now.toISOString() });
    expect(rerun.failed_count).toBe(0);
    expect(await disagreements(stack, now)).toEqual({ expired_but_live: 0, gone_but_unexpired: 0 });
    expect(await completedDue()).toBe(0);
  });

  test('two overlapping runs send each file to Storage exactly once', async () => {
    const sent: string[] = [];
    stack.supabase.observe(({ method, path, body }) => {
      if (method === 'DELETE' && path === '/storage/v1/object/exports') sent.push(...JSON.parse(body.toString()).prefixes);
    });
    const due = await stack.db.query<{ name: string }>(
      `select x.storage_path as name from public.export_logs l join export_ops.exports x on x.id = l.id
         join storage.objects o on o.bucket_id = x.storage_bucket and o.name = x.storage_path
        where l.status = 'completed' and l.expires_at <= $1`, [now.toISOString()]);
    expect(due.rows.length).toBeGreaterThan(1000); // more than one batch each

    // B starts once A is inside its first batch (its first Storage call seen), with its ports
    // already built: both are then at work at once, whatever the machine's load.
    const [depsA, depsB] = [await jobDepsFor(stack, 'file-cleanup'), await jobDepsFor(stack, 'file-cleanup')];
    const runA = runJob(fileCleanupJob, depsA, { scheduledTime: now.toISOString() });
    await waitFor(() => sent.length > 0, 'run A\'s first Storage call');
    const [a, b] = await Promise.all([runA, runJob(fileCleanupJob, depsB, { scheduledTime: now.toISOString() })]);

    expect(new Set(sent).size).toBe(sent.length);
    expect(sent.sort()).toEqual(due.rows.map((r) => r.name).sort());
    expect(a.deleted_count + b.deleted_count).toBe(due.rows.length);
    expect(a.deleted_count).toBeGreaterThan(0);
    expect(b.deleted_count).toBeGreaterThan(0);
    expect(await completedDue()).toBe(0);
    expect(await disagreements(stack, now)).toEqual({ expired_but_live: 0, gone_but_unexpired: 0 });
  });
});
