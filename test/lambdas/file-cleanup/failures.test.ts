import { fileCleanupJob } from '../../../lambdas/file-cleanup/job';
import { runJob } from '../../../lambdas/shared/job';
import { RETRY_ATTEMPTS } from '../../../lambdas/shared/retry';
import { fileCleanupPorts } from '../../../lambdas/file-cleanup/adapters';
import { createServiceClient } from '../../../lambdas/shared/supabase';
import type { LocalStack } from '../../../local/stack';
import { jobDepsFor } from '../../support/jobs';
import { databaseMode, startTestStack } from '../../support/stack';
import { disagreements, insertExports, objectExists, statusOf, storageUrl, USER } from './fixtures';

const now = new Date('2026-11-29T02:00:00Z');
const REMOVE = { method: 'DELETE', path: '/storage/v1/object/exports' };

describe(`file cleanup when Storage fails, on ${databaseMode}`, () => {
  let stack: LocalStack;
  let removeCalls: number;
  let counter = 0;
  beforeAll(async () => {
    stack = await startTestStack();
    stack.supabase.observe(({ method, path }) => {
      if (method === REMOVE.method && path === REMOVE.path) removeCalls += 1;
    });
  });
  beforeEach(() => {
    removeCalls = 0;
  });
  afterEach(() => stack.supabase.faults.clear());
  afterAll(() => stack.stop());

  const run = async (env: Record<string, string> = {}) =>
    runJob(fileCleanupJob, await jobDepsFor(stack, 'file-cleanup', env), { scheduledTime: now.toISOString() });
  const exportsWithFiles = async (n: number) => {
    const names = Array.from({ length: n }, () => `${USER}/f${(counter += 1)}.json`);
    const ids = await insertExports(stack, now, names.map((name) => ({ upload: name, file_url: storageUrl(stack, 'public', name) })));
    return { ids, names };
  };

  test.each([500, 429, 503])('a %i on one call is retried, then the batch succeeds', async (status) => {
    const { ids } = await exportsWithFiles(3);
    const fault = stack.supabase.faults.add({ ...REMOVE, fault: { status } });
    const result = await run();
    expect(fault.injected).toBe(1);
    expect(removeCalls).toBe(2);
    expect(result).toMatchObject({ deleted_count: 3, failed_count: 0, logs_updated: 3 });
    expect(await statusOf(stack, ids)).toEqual(['expired', 'expired', 'expired']);
  });

  test('a dropped connection mid-call is retried', async () => {
    const { ids } = await exportsWithFiles(2);
    stack.supabase.faults.add({ ...REMOVE, fault: { drop: true } });
    expect(await run()).toMatchObject({ deleted_count: 2, failed_count: 0 });
    expect(await statusOf(stack, ids)).toEqual(['expired', 'expired']);
  });

  // 2 s: past what any call takes on a loaded machine (the hang never answers), so only the hung call times out.
  test('a call that hangs past the client timeout is retried', async () => {
    const { ids } = await exportsWithFiles(2);
    stack.supabase.faults.add({ ...REMOVE, fault: { hang: true } });
    const deps = await jobDepsFor(stack, 'file-cleanup');
    Object.assign(deps, fileCleanupPorts({ supabase: createServiceClient(stack.supabase.url, stack.serviceRoleKey, 2000) }));
    const result = await runJob(fileCleanupJob, deps, { scheduledTime: now.toISOString() });
    expect(removeCalls).toBe(2);
    expect(result).toMatchObject({ deleted_count: 2, failed_count: 0 });
    expect(await statusOf(stack, ids)).toEqual(['expired', 'expired']);
  });

  test('an answer lost after Storage deleted: the retry finds the names gone, the rows are marked, counted as already gone', async () => {
    const { ids, names } = await exportsWithFiles(2);
    stack.supabase.faults.add({ ...REMOVE, when: 'after', fault: { drop: true } });
    const result = await run();
    // Storage reported no deletion in the answer this run received: not counted as deleted.
    expect(result).toMatchObject({ deleted_count: 0, already_gone_count: 2, failed_count: 0, bytes_reclaimed: 0, logs_updated: 2 });
    expect(await statusOf(stack, ids)).toEqual(['expired', 'expired']);
    for (const name of names) expect(await objectExists(stack, name)).toBe(false);
    expect(await disagreements(stack, now)).toEqual({ expired_but_live: 0, gone_but_unexpired: 0 });
  });

  test('a name Storage skips while the object stays stored (a key or policy that may not delete it) is never marked expired', async () => {
    const { ids, names } = await exportsWithFiles(3);
    // Storage deletes through SQL under the caller's rights; this refuses one row silently,
    // as a policy the key does not pass would.
    await stack.db.query(`create or replace function public.test_keep_object() returns trigger language plpgsql as
                            $f$ begin return null; end $f$`);
    await stack.db.query(`create trigger test_keep_object before delete on storage.objects for each row
                            when (old.name = '${names[0]}') execute function public.test_keep_object()`);
    try {
      const result = await run();
      expect(result).toMatchObject({ deleted_count: 2, already_gone_count: 0, failed_count: 1, logs_updated: 2 });
      expect(result.errors).toEqual([{ export_id: expect.any(String), error: expect.stringMatching(/still stored/) }]);
      expect(await statusOf(stack, ids)).toEqual(['completed', 'expired', 'expired']);
      expect(await objectExists(stack, names[0])).toBe(true);
      expect(await disagreements(stack, now)).toEqual({ expired_but_live: 0, gone_but_unexpired: 0 });
    } finally {
      await stack.db.query(`drop trigger test_keep_object on storage.objects`);
    }
    // Once Storage may delete it, the next run does, and only then marks the row.
    expect(await run()).toMatchObject({ deleted_count: 1, failed_count: 0, logs_updated: 1 });
    expect(await statusOf(stack, ids)).toEqual(['expired', 'expired', 'expired']);
  });

  test('rows with no stored file are counted apart from deleted objects', async () => {
    const { ids } = await exportsWithFiles(1);
    const legacy = await insertExports(stack, now, [{ file_url: '/api/export/download/old.json' }, { file_url: null }]);
    const result = await run();
    expect(result).toMatchObject({ deleted_count: 1, no_file_count: 2, already_gone_count: 0, logs_updated: 3 });
    expect(await statusOf(stack, [...ids, ...legacy])).toEqual(['expired', 'expired', 'expired']);
  });

  test('a call that keeps failing marks nothing, records the attempt, and the next run succeeds', async () => {
    const { ids, names } = await exportsWithFiles(3);
    stack.supabase.faults.add({ ...REMOVE, times: RETRY_ATTEMPTS, fault: { status: 503 } });
    const failed = await run({ MAX_FILE_ATTEMPTS: '1' });
    expect(removeCalls).toBe(RETRY_ATTEMPTS);
    expect(failed).toMatchObject({ deleted_count: 0, failed_count: 3, logs_updated: 0 });
    expect(failed.errors).toHaveLength(3);
    expect(failed.errors[0].error).toMatch(/503/);
    expect(failed.stuck.count).toBe(3);
    expect(await statusOf(stack, ids)).toEqual(['completed', 'completed', 'completed']);
    for (const name of names) expect(await objectExists(stack, name)).toBe(true);
    const claims = await stack.db.query(`select attempts, last_error, lease_until from export_ops.file_claims where attempts > 0`);
    expect(claims.rows).toEqual(ids.map(() => ({ attempts: 1, last_error: expect.stringMatching(/503/), lease_until: null })));

    const retried = await run();
    expect(retried).toMatchObject({ deleted_count: 3, failed_count: 0, stuck: { count: 0 } });
    expect(await statusOf(stack, ids)).toEqual(['expired', 'expired', 'expired']);
  });

  test('a permanent error is not retried', async () => {
    const { ids } = await exportsWithFiles(1);
    stack.supabase.faults.add({ ...REMOVE, fault: { status: 400, body: { statusCode: '403', error: 'Unauthorized', message: 'denied' } } });
    const result = await run();
    expect(removeCalls).toBe(1);
    expect(result.errors[0].error).toBe('403: denied');
    expect(await statusOf(stack, ids)).toEqual(['completed']);
    await run();
    expect(await statusOf(stack, ids)).toEqual(['expired']);
  });
});
