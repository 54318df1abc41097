import { fileCleanupJob } from '../../lambdas/file-cleanup/job';
import { runJob } from '../../lambdas/shared/job';
import { seedExports } from '../../local/seed';
import type { LocalStack } from '../../local/stack';
import { exportOps } from '../support/cli';
import { jobDepsFor } from '../support/jobs';
import { databaseMode, startTestStack } from '../support/stack';

/**
 * `npx export-ops status`: --json is one JSON document on stdout; the screen says the same
 * numbers in words. (The numbers themselves are checked against the app's table in
 * test/supabase/status.test.ts.)
 */
describe(`npx export-ops status (${databaseMode})`, () => {
  let stack: LocalStack;
  beforeAll(async () => {
    stack = await startTestStack();
    await seedExports({ db: stack.db, storageDir: stack.storageDir, supabaseUrl: stack.supabase.url }, { count: 600, seed: 9 });
    await runJob(fileCleanupJob, await jobDepsFor(stack, 'file-cleanup'), { maxFiles: 20 });
    await stack.db.query(`insert into export_ops.runs (job, status, started_at, finished_at, error)
                          values ('log-cleanup', 'failed', now() - interval '3 hours', now() - interval '3 hours', 'S3 said no')`);
  });
  afterAll(() => stack.stop());

  test('--json prints exactly one JSON document with every section', async () => {
    const { code, stdout } = await exportOps(stack.env, ['status', '--json']);
    expect(code).toBe(0);
    const status = JSON.parse(stdout);
    expect(Object.keys(status).sort()).toEqual(['attention', 'backfill', 'files', 'jobs', 'logs', 'metrics', 'now']);
    expect(Object.keys(status.jobs).sort()).toEqual(['file-cleanup', 'log-cleanup', 'metrics-aggregate']);
    // The defaults: daily 02:00, the 1st of the month 03:00, hourly, UTC.
    const next = (job: string) => new Date(status.jobs[job].next_run);
    expect([next('file-cleanup').getUTCHours(), next('file-cleanup').getUTCMinutes()]).toEqual([2, 0]);
    expect([next('log-cleanup').getUTCDate(), next('log-cleanup').getUTCHours()]).toEqual([1, 3]);
    expect(next('metrics-aggregate').getTime() - Date.now()).toBeLessThanOrEqual(3_600_000);
    expect(status.attention).toContain('log-cleanup: its last run failed: S3 said no');
  });

  test('the screen says what is waiting, with the same numbers', async () => {
    const json = JSON.parse((await exportOps(stack.env, ['status', '--json'])).stdout);
    const { code, stdout } = await exportOps(stack.env, ['status']);
    expect(code).toBe(0);
    expect(stdout).toMatch(/^export-ops status at .* UTC: NEEDS ATTENTION\n/);
    expect(stdout).toMatch(new RegExp(`files due +${json.files.due.toLocaleString('en-US')} \\(`));
    expect(stdout).toMatch(new RegExp(`log rows eligible +${json.logs.eligible.toLocaleString('en-US')} \\(older than`));
    expect(stdout).toMatch(/file-cleanup\n {2}last run +partial, .*, took [\d.]+ s/);
    expect(stdout).toMatch(/log-cleanup\n(.*\n)* {2}last failure +.*: S3 said no/);
    expect(stdout).toMatch(/attention\n {2}- log-cleanup: its last run failed: S3 said no/);
  });

  test('bad usage exits 2 and --help exits 0 with an example', async () => {
    expect((await exportOps(stack.env, ['status', '--bogus'])).code).toBe(2);
    const help = await exportOps({}, ['status', '--help']);
    expect(help.code).toBe(0);
    expect(help.stdout).toMatch(/examples:\n {2}npx export-ops status/);
  });
});
