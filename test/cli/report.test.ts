import type { LocalStack } from '../../local/stack';
import { seedExports } from '../../local/seed';
import { checkFailureRate, getExportVolume } from '../../reports/queries';
import { createServiceClient } from '../../lambdas/shared/supabase';
import { Logger } from '@aws-lambda-powertools/logger';
import { exportOps } from '../support/cli';
import { databaseMode, startTestStack } from '../support/stack';

/**
 * `npx export-ops report …`: bad usage exits 2 before anything connects, naming the flag; a good
 * one prints exactly one JSON value with --json, the same answer the query function gives.
 */
describe(`npx export-ops report (${databaseMode})`, () => {
  let stack: LocalStack;
  const now = new Date();
  beforeAll(async () => {
    stack = await startTestStack();
    await seedExports({ db: stack.db, storageDir: stack.storageDir, supabaseUrl: stack.supabase.url }, { count: 400, days: 3, now, files: false });
  });
  afterAll(() => stack.stop());

  test.each([
    [['report'], /usage: export-ops report failure-rate/],
    [['report', 'weekly'], /unknown report "weekly"/],
    [['report', 'volume', '--days', '0'], /--days must be at least 1/],
    [['report', 'volume', '--days', '400'], /--days must be at most 366/],
    [['report', 'volume', '--period', 'weekly'], /--period must be hourly or daily/],
    [['report', 'volume', '--lookback-minutes', '5'], /lookback-minutes/],
    [['report', 'failure-rate', '--now', '9999-12-31T23:59:59Z'], /--now 9999-12-31T23:59:59Z is ahead of this machine's clock/],
    [['report', 'aggregate', '--from', '2026-11-02T00:00:00Z', '--to', '2026-11-01T00:00:00Z'], /--to must be after --from/],
    [['report', 'aggregate'], /--from must be an ISO 8601 date-time/],
    [['report', 'volume', '--bogus'], /Unknown option '--bogus'/],
  ])('%j exits 2 with a message naming what is wrong', async (args, message) => {
    // A URL nothing listens on: a command that got past its checks would fail with 1, not 2.
    const { code, stdout, stderr } = await exportOps({ SUPABASE_URL: 'http://127.0.0.1:9', SUPABASE_SERVICE_ROLE_KEY: 'x' }, args);
    expect({ code, stdout }).toEqual({ code: 2, stdout: '' });
    expect(stderr).toMatch(message);
  });

  test('volume --json prints one JSON value, the query function\'s answer', async () => {
    const { code, stdout, stderr } = await exportOps(stack.env, ['report', 'volume', '--period', 'daily', '--days', '5', '--now', now.toISOString(), '--json']);
    expect({ code, stderr }).toEqual({ code: 0, stderr: '' });
    const supabase = createServiceClient(stack.env.SUPABASE_URL, stack.serviceRoleKey);
    const expected = await getExportVolume(supabase, 'daily', 5, now);
    expect(expected.length).toBeGreaterThan(0);
    expect(JSON.parse(stdout)).toEqual(expected);
  });

  test('failure-rate answers for the look-back asked', async () => {
    const { code, stdout } = await exportOps(stack.env, ['report', 'failure-rate', '--lookback-minutes', '4320', '--now', now.toISOString(), '--json']);
    expect(code).toBe(0);
    const supabase = createServiceClient(stack.env.SUPABASE_URL, stack.serviceRoleKey);
    expect(JSON.parse(stdout)).toEqual(await checkFailureRate(supabase, new Logger({ logLevel: 'SILENT' }), 4320, now));
  });

  test('--help prints the usage with examples and exits 0', async () => {
    const { code, stdout } = await exportOps({}, ['report', '--help']);
    expect(code).toBe(0);
    expect(stdout).toMatch(/examples:\n {2}npx export-ops report failure-rate/);
  });
});
