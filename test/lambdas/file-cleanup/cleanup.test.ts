import { fileCleanupJob, type FileCleanupResult } from '../../../lambdas/file-cleanup/job';
import { handler } from '../../../lambdas/file-cleanup/handler';
import { runJob } from '../../../lambdas/shared/job';
import type { LocalStack } from '../../../local/stack';
import { jobDepsFor } from '../../support/jobs';
import { captureStdout } from '../../support/output';
import { databaseMode, startTestStack } from '../../support/stack';
import { disagreements, insertExports, objectExists, statusOf, storageUrl, USER } from './fixtures';

const now = new Date('2026-11-29T02:00:00Z');
const scheduledTime = now.toISOString();

describe(`file cleanup on ${databaseMode}`, () => {
  let stack: LocalStack;
  let sentNames: string[];
  beforeAll(async () => {
    stack = await startTestStack();
    stack.supabase.observe(({ method, path, body }) => {
      if (method === 'DELETE' && path === '/storage/v1/object/exports') sentNames.push(...JSON.parse(body.toString()).prefixes);
    });
  });
  beforeEach(() => {
    sentNames = [];
  });
  afterAll(() => stack.stop());

  const run = async (input: Record<string, unknown> = {}, env: Record<string, string> = {}) =>
    runJob(fileCleanupJob, await jobDepsFor(stack, 'file-cleanup', env), { scheduledTime, ...input });

  test('deletes the files of every URL form, marks exactly those rows, and leaves the rest', async () => {
    const due = await insertExports(stack, now, [
      { upload: `${USER}/public.json`, file_url: storageUrl(stack, 'public', `${USER}/public.json`) },
      { upload: `${USER}/signed.csv`, file_url: storageUrl(stack, 'sign', `${USER}/signed.csv`, '?token=abc.def') },
      { upload: `${USER}/auth.md`, file_url: storageUrl(stack, 'authenticated', `${USER}/auth.md`) },
      { upload: `${USER}/with space (1).jsonl`, file_url: storageUrl(stack, 'public', `${USER}/with%20space%20(1).jsonl`) },
      { upload: `${USER}/old-no-expiry.json`, file_url: storageUrl(stack, 'public', `${USER}/old-no-expiry.json`), expiredHoursAgo: null, createdHoursAgo: 30 },
      { file_url: '/api/export/download/legacy.json' },
      { file_url: null },
    ]);
    const kept = await insertExports(stack, now, [
      { upload: `${USER}/fresh.json`, file_url: storageUrl(stack, 'public', `${USER}/fresh.json`), expiredHoursAgo: -3 },
      { upload: `${USER}/young.json`, file_url: storageUrl(stack, 'public', `${USER}/young.json`), expiredHoursAgo: null, createdHoursAgo: 10 },
      { upload: `${USER}/queued.json`, file_url: storageUrl(stack, 'public', `${USER}/queued.json`), status: 'queued' },
      { file_url: null, status: 'failed' },
    ]);

    const { value: result, lines } = await captureStdout(() => run());

    expect(await statusOf(stack, due)).toEqual(due.map(() => 'expired'));
    expect(await statusOf(stack, kept)).toEqual(['completed', 'completed', 'queued', 'failed']);
    expect(sentNames.sort()).toEqual([`${USER}/auth.md`, `${USER}/old-no-expiry.json`, `${USER}/public.json`, `${USER}/signed.csv`, `${USER}/with space (1).jsonl`]);
    for (const name of ['fresh.json', 'young.json', 'queued.json']) expect(await objectExists(stack, `${USER}/${name}`)).toBe(true);
    expect(result).toMatchObject({ total_found: 7, deleted_count: 5, failed_count: 0, logs_updated: 7, errors: [], more: false, dry_run: false });
    const uploadedBytes = sentNames.reduce((sum, name) => sum + Buffer.byteLength(`file ${name}`), 0);
    expect(result.bytes_reclaimed).toBe(uploadedBytes);
    expect(await disagreements(stack, now)).toEqual({ expired_but_live: 0, gone_but_unexpired: 0 });

    const emf = lines.filter((l) => l.includes('"_aws"')).map((l) => JSON.parse(l));
    expect(emf).toHaveLength(1);
    expect(emf[0]).toMatchObject({ Job: 'file-cleanup', FilesDeleted: 5, FilesFailed: 0, BytesReclaimed: uploadedBytes, FilesSkipped: 0, CleanupFailures: 0 });
    expect(emf[0]._aws.CloudWatchMetrics[0].Dimensions).toEqual([['Job']]);
    const logLine = lines.map((l) => JSON.parse(l)).find((l) => l.message === 'file-cleanup finished');
    expect(logLine.result.deleted_count).toBe(5);
    expect(lines.join('\n')).not.toContain(stack.serviceRoleKey);

    const again = await run();
    expect(again).toMatchObject({ total_found: 0, deleted_count: 0, logs_updated: 0 });
  });

  test('honours FILE_GRACE_HOURS and FILE_RETENTION_HOURS', async () => {
    const [withinGrace, pastGrace, withinRetention] = await insertExports(stack, now, [
      { upload: `${USER}/g1.json`, file_url: storageUrl(stack, 'public', `${USER}/g1.json`), expiredHoursAgo: 1 },
      { upload: `${USER}/g2.json`, file_url: storageUrl(stack, 'public', `${USER}/g2.json`), expiredHoursAgo: 3 },
      { upload: `${USER}/r1.json`, file_url: storageUrl(stack, 'public', `${USER}/r1.json`), expiredHoursAgo: null, createdHoursAgo: 40 },
    ]);
    await run({}, { FILE_GRACE_HOURS: '2', FILE_RETENTION_HOURS: '48' });
    expect(await statusOf(stack, [withinGrace, pastGrace, withinRetention])).toEqual(['completed', 'expired', 'completed']);
    await run();
  });

  test('malformed paths never reach Storage: flagged, reported, not expired, not retried', async () => {
    const bad = await insertExports(stack, now, [
      { file_url: storageUrl(stack, 'public', '') },
      { file_url: storageUrl(stack, 'public', `${USER}/../victim/secret.json`) },
      { file_url: storageUrl(stack, 'public', `/etc/passwd`) },
      { file_url: `${stack.supabase.url}/storage/v1/object/public/avatars/${USER}/me.png` },
      { file_url: storageUrl(stack, 'public', `${USER}/%C0%AF.json`) },
    ]);
    await insertExports(stack, now, [{ upload: 'victim/secret.json', file_url: null, status: 'failed' }]);
    const first = await run();
    expect(sentNames).toEqual([]);
    expect(await statusOf(stack, bad)).toEqual(bad.map(() => 'completed'));
    expect(first.skipped).toMatchObject({
      count: 5,
      by_reason: { empty_path: 1, dot_segment: 1, absolute_path: 1, other_bucket: 1, undecodable_path: 1 },
      flagged_total: 5,
    });
    expect(first.skipped.rows.map((r) => r.export_id).sort()).toEqual([...bad].sort());
    expect(await objectExists(stack, 'victim/secret.json')).toBe(true);

    const second = await run();
    expect(second.skipped).toMatchObject({ count: 0, flagged_total: 5 });
    expect(second.total_found).toBe(0);

    // The app fixes one row's URL: the flag goes, and the next run deletes the right file.
    await insertExports(stack, now, [{ upload: `${USER}/fixed.json`, file_url: null, status: 'failed' }]);
    await stack.db.query(`update public.export_logs set file_url = $1 where export_id = $2`, [storageUrl(stack, 'public', `${USER}/fixed.json`), bad[0]]);
    const third = await run();
    expect(third).toMatchObject({ total_found: 1, deleted_count: 1, skipped: { count: 0, flagged_total: 4 } });
    expect(sentNames).toEqual([`${USER}/fixed.json`]);
    expect(await statusOf(stack, [bad[0]])).toEqual(['expired']);
  });

  test('a dry run changes nothing and plans exactly what the real run then does', async () => {
    await insertExports(stack, now, [
      { upload: `${USER}/d1.json`, file_url: storageUrl(stack, 'public', `${USER}/d1.json`) },
      { upload: `${USER}/d2.json`, file_url: storageUrl(stack, 'sign', `${USER}/d2.json`, '?token=t') },
      { file_url: '/api/export/download/d3.json' },
    ]);
    const snapshot = async () => (await stack.db.query(`
      select (select string_agg(export_id || status, ',' order by export_id) from public.export_logs) as logs,
             (select count(*)::int from storage.objects) as objects,
             (select string_agg(export_log_id || coalesce(lease_until::text, '') || attempts, ',' order by export_log_id) from export_ops.file_claims) as claims`)).rows[0];
    const before = await snapshot();
    const dry = await run({ dryRun: true });
    expect(await snapshot()).toEqual(before);
    expect(sentNames).toEqual([]);
    expect(dry.planned?.delete.map((d) => d.path).sort()).toEqual([`${USER}/d1.json`, `${USER}/d2.json`]);
    expect(dry.planned?.mark_expired).toHaveLength(3);
    expect(dry.planned?.bytes_estimate).toBe(200); // the two rows' file_size, 100 each

    const real = await run();
    expect(sentNames.sort()).toEqual(dry.planned?.delete.map((d) => d.path).sort());
    expect(real).toMatchObject({ deleted_count: dry.deleted_count, logs_updated: dry.logs_updated, total_found: dry.total_found });
  });

  test('maxFiles bounds one run; the next run continues', async () => {
    const ids = await insertExports(stack, now, Array.from({ length: 5 }, (_, i) => ({
      upload: `${USER}/m${i}.json`, file_url: storageUrl(stack, 'public', `${USER}/m${i}.json`),
    })));
    const first: FileCleanupResult = await run({ maxFiles: 2 });
    expect(first.total_found).toBe(2);
    expect((await statusOf(stack, ids)).filter((s) => s === 'expired')).toHaveLength(2);
    await run();
    expect(await statusOf(stack, ids)).toEqual(ids.map(() => 'expired'));
  });

  describe('the Lambda handler', () => {
    const env = () => ({ ...stack.env });
    let saved: NodeJS.ProcessEnv;
    beforeEach(() => {
      saved = { ...process.env };
      Object.assign(process.env, env());
    });
    afterEach(() => {
      process.env = saved;
    });

    test.each([
      [{ scheduledTime, extra: 1 }, /extra|Unrecognized key/],
      [{ scheduledTime: 'yesterday' }, /scheduledTime must be an ISO 8601 date-time/],
      [{ dryRun: 'yes' }, /dryRun/],
      [{ maxFiles: -1 }, /maxFiles/],
    ])('refuses %j clearly and does nothing', async (event, message) => {
      const runsBefore = await stack.db.query(`select count(*)::int as n from export_ops.runs`);
      await expect(handler(event)).rejects.toThrow(message);
      const runsAfter = await stack.db.query(`select count(*)::int as n from export_ops.runs`);
      expect(runsAfter.rows).toEqual(runsBefore.rows);
    });

    test('runs from the schedule event, with the scheduled time as "now"', async () => {
      const [id] = await insertExports(stack, now, [{ upload: `${USER}/h.json`, file_url: storageUrl(stack, 'public', `${USER}/h.json`), expiredHoursAgo: 1 }]);
      const early = new Date(now.getTime() - 2 * 3_600_000).toISOString();
      expect((await handler({ scheduledTime: early }, { getRemainingTimeInMillis: () => 600_000 })).total_found).toBe(0);
      const result = await handler({ scheduledTime }, { getRemainingTimeInMillis: () => 600_000 });
      expect(result.deleted_count).toBe(1);
      expect(await statusOf(stack, [id])).toEqual(['expired']);
      const { rows } = await stack.db.query<{ status: string; scheduled_time: Date }>(
        `select status, scheduled_time from export_ops.runs where job = 'file-cleanup' order by started_at desc limit 1`);
      expect(rows[0]).toEqual({ status: 'succeeded', scheduled_time: now });
    });

    test('with no time left it takes no batch, returns more: true and holds no claim', async () => {
      const [id] = await insertExports(stack, now, [{ upload: `${USER}/t.json`, file_url: storageUrl(stack, 'public', `${USER}/t.json`) }]);
      const result = await handler({ scheduledTime }, { getRemainingTimeInMillis: () => 10_000 });
      expect(result).toMatchObject({ more: true, total_found: 0 });
      expect(await statusOf(stack, [id])).toEqual(['completed']);
      const leased = await stack.db.query(`select 1 from export_ops.file_claims where lease_until > now()`);
      expect(leased.rows).toEqual([]);
      await run();
    });
  });
});
