import type { LocalStack } from '../../local/stack';
import { insertExports, storageUrl, USER } from '../lambdas/file-cleanup/fixtures';
import { exportOps } from '../support/cli';
import { databaseMode, startTestStack } from '../support/stack';

describe(`npx export-ops run and a --now ahead of the clock (${databaseMode})`, () => {
  let stack: LocalStack;
  beforeAll(async () => {
    stack = await startTestStack();
    await insertExports(stack, new Date(), [
      { upload: `${USER}/due.json`, file_url: storageUrl(stack, 'public', `${USER}/due.json`), expiredHoursAgo: 24 },
      { upload: `${USER}/later.json`, file_url: storageUrl(stack, 'public', `${USER}/later.json`), expiredHoursAgo: -3 },
    ]);
  }, 60_000);
  afterAll(() => stack.stop());

  const state = async () => ({
    logs: (await stack.db.query('select e::text from public.export_logs e order by id')).rows,
    objects: (await stack.db.query('select bucket_id, name from storage.objects order by 1, 2')).rows,
    runs: (await stack.db.query('select r::text from export_ops.runs r order by started_at')).rows,
  });

  test('file-cleanup --now 9999-12-31T23:59:59Z exits 2 (refused input) naming --now, the value, the clock and the skew, and changes nothing', async () => {
    const before = await state();
    const { code, stdout, stderr } = await exportOps(stack.env, ['run', 'file-cleanup', '--now', '9999-12-31T23:59:59Z']);
    expect(code).toBe(2);
    expect(stdout).toBe('');
    expect(stderr).toMatch(/^export-ops: invalid file-cleanup input: --now: --now 9999-12-31T23:59:59Z is ahead of this machine's clock \(\d{4}-\d\d-\d\dT[\d:.]+Z\) by more than the allowed skew of 5 minutes/);
    expect(await state()).toEqual(before);
  }, 60_000);

  test('a past --now runs', async () => {
    const past = new Date(Date.now() - 48 * 3_600_000).toISOString();
    const { code, stdout, stderr } = await exportOps(stack.env, ['run', 'file-cleanup', '--now', past, '--dry-run', '--json']);
    expect(code).toBe(0);
    // stdout is the result alone; the job's log lines are JSON on stderr.
    expect(JSON.parse(stdout)).toMatchObject({ dry_run: true });
    for (const line of stderr.split('\n').filter(Boolean)) expect(JSON.parse(line)).toHaveProperty('level');
  }, 60_000);
});
