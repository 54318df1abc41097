import { createClient } from '@supabase/supabase-js';
import { handler } from '../../../lambdas/file-cleanup/handler';
import { fileCleanupJob } from '../../../lambdas/file-cleanup/job';
import { runJob } from '../../../lambdas/shared/job';
import type { LocalStack } from '../../../local/stack';
import { jobDepsFor } from '../../support/jobs';
import { databaseMode, startTestStack } from '../../support/stack';
import { insertExports, objectExists, statusOf, storageUrl, USER } from './fixtures';

const MINUTE = 60_000;
const FAR_FUTURE = '9999-12-31T23:59:59Z';

/**
 * Issue 9: a `scheduledTime` far ahead of the clock made every completed export's file look
 * expired (and every old object an orphan). It is refused before anything is done or recorded.
 */
describe(`file cleanup and a scheduledTime ahead of the clock on ${databaseMode}`, () => {
  let stack: LocalStack;
  let sentNames: string[] = [];
  const saved = { ...process.env };
  const realNow = new Date();
  let due: string;
  let notDue: string[];

  beforeAll(async () => {
    stack = await startTestStack();
    Object.assign(process.env, stack.env);
    stack.supabase.observe(({ method, path, body }) => {
      if (method === 'DELETE' && path === '/storage/v1/object/exports') sentNames.push(...JSON.parse(body.toString()).prefixes);
    });
    [due, ...notDue] = await insertExports(stack, realNow, [
      { upload: `${USER}/due.json`, file_url: storageUrl(stack, 'public', `${USER}/due.json`), expiredHoursAgo: 24 },
      { upload: `${USER}/expires-later.json`, file_url: storageUrl(stack, 'public', `${USER}/expires-later.json`), expiredHoursAgo: -3 },
      { upload: `${USER}/young.json`, file_url: storageUrl(stack, 'public', `${USER}/young.json`), expiredHoursAgo: null, createdHoursAgo: 1 },
    ]);
    // An object without a row: an orphan only once it is older than the orphan grace.
    const storage = createClient(stack.supabase.url, stack.serviceRoleKey, { auth: { persistSession: false } }).storage.from('exports');
    const { error } = await storage.upload(`${USER}/no-row.json`, Buffer.from('no row'), { upsert: true });
    if (error) throw error;
  });
  beforeEach(() => {
    sentNames = [];
  });
  afterAll(async () => {
    process.env = saved;
    await stack.stop();
  });

  /** Everything a cleanup run could change: rows, objects, claims and run records. */
  const state = async () => {
    const q = async (sql: string) => (await stack.db.query(sql)).rows;
    return {
      logs: await q(`select e::text as row from public.export_logs e order by id`),
      objects: await q(`select bucket_id, name, updated_at::text from storage.objects order by bucket_id, name`),
      claims: await q(`select c::text as row from export_ops.file_claims c order by 1`),
      runs: await q(`select r::text as row from export_ops.runs r order by started_at`),
    };
  };

  test.each([
    ['the Lambda handler', () => handler({ scheduledTime: FAR_FUTURE }, { getRemainingTimeInMillis: () => 600_000 })],
    ['runJob', async () => runJob(fileCleanupJob, await jobDepsFor(stack, 'file-cleanup'), { scheduledTime: FAR_FUTURE })],
    ['runJob, one hour ahead', async () =>
      runJob(fileCleanupJob, await jobDepsFor(stack, 'file-cleanup'), { scheduledTime: new Date(Date.now() + 60 * MINUTE).toISOString() })],
  ])('%s refuses it with the field, value, clock and skew named, and nothing is deleted or recorded', async (_via, call) => {
    const before = await state();
    const refusal = call();
    await expect(refusal).rejects.toThrow(/invalid file-cleanup input: scheduledTime: scheduledTime \S+ is ahead of this machine's clock \(\d{4}-\d\d-\d\dT[\d:.]+Z\) by more than the allowed skew of 5 minutes/);
    expect(await state()).toEqual(before);
    expect(sentNames).toEqual([]);
    expect(await statusOf(stack, [due, ...notDue])).toEqual(['completed', 'completed', 'completed']);
  });

  test('a past time is accepted (redelivery, backfill): at a time before the row expired, nothing is due', async () => {
    const past = new Date(realNow.getTime() - 48 * 3_600_000);
    const result = await handler({ scheduledTime: past.toISOString() }, { getRemainingTimeInMillis: () => 600_000 });
    expect(result).toMatchObject({ total_found: 0, deleted_count: 0 });
    expect(await statusOf(stack, [due])).toEqual(['completed']);
    const { rows } = await stack.db.query<{ status: string; scheduled_time: Date }>(
      `select status, scheduled_time from export_ops.runs order by started_at desc limit 1`);
    expect(rows[0]).toEqual({ status: 'succeeded', scheduled_time: past });
  });

  test('a time one minute ahead is accepted and cleans only what is due', async () => {
    const ahead = new Date(Math.floor(Date.now() / 1000) * 1000 + MINUTE);
    const result = await runJob(fileCleanupJob, await jobDepsFor(stack, 'file-cleanup'), { scheduledTime: ahead.toISOString() });
    expect(result).toMatchObject({ deleted_count: 1, failed_count: 0 });
    expect(sentNames).toEqual([`${USER}/due.json`]);
    expect(await statusOf(stack, [due, ...notDue])).toEqual(['expired', 'completed', 'completed']);
    for (const name of ['expires-later.json', 'young.json', 'no-row.json']) expect(await objectExists(stack, `${USER}/${name}`)).toBe(true);
  });
});
