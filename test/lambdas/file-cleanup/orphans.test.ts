import { createClient } from '@supabase/supabase-js';
import { fileCleanupJob } from '../../../lambdas/file-cleanup/job';
import { runJob } from '../../../lambdas/shared/job';
import type { LocalStack } from '../../../local/stack';
import { jobDepsFor } from '../../support/jobs';
import { databaseMode, startTestStack } from '../../support/stack';
import { insertExports, objectExists, storageUrl } from './fixtures';

const now = new Date();

describe(`orphaned objects on ${databaseMode}`, () => {
  let stack: LocalStack;
  beforeAll(async () => {
    stack = await startTestStack();
    const storage = createClient(stack.supabase.url, stack.serviceRoleKey, { auth: { persistSession: false } }).storage.from('exports');
    for (const name of ['orphan/old.json', 'orphan/fresh.json', 'orphan/needed.json', 'orphan/of-expired.json']) {
      const { error } = await storage.upload(name, Buffer.from(name));
      if (error) throw error;
    }
    // Uploaded three days ago, except the fresh one (inside the 48 h grace window).
    await stack.db.query(`update storage.objects set created_at = now() - interval '3 days' where name <> 'orphan/fresh.json'`);
    await insertExports(stack, now, [
      { file_url: storageUrl(stack, 'public', 'orphan/needed.json'), expiredHoursAgo: -10 },
      { file_url: storageUrl(stack, 'public', 'orphan/of-expired.json'), status: 'expired' },
    ]);
  });
  afterAll(() => stack.stop());
  const run = async (env: Record<string, string> = {}) =>
    runJob(fileCleanupJob, await jobDepsFor(stack, 'file-cleanup', env), { scheduledTime: now.toISOString() });

  test('are reported every run and kept by default', async () => {
    const result = await run();
    expect(result.orphans).toEqual({
      scanned_all: true, count: 2, bytes: Buffer.byteLength('orphan/old.json') + Buffer.byteLength('orphan/of-expired.json'),
      deleted: 0, sample: ['orphan/of-expired.json', 'orphan/old.json'],
    });
    expect(await objectExists(stack, 'orphan/old.json')).toBe(true);
  });

  test('a dry run deletes none even when deletion is on', async () => {
    const dry = await runJob(fileCleanupJob, await jobDepsFor(stack, 'file-cleanup', { DELETE_ORPHANS: 'true' }), {
      scheduledTime: now.toISOString(), dryRun: true,
    });
    expect(dry.orphans).toMatchObject({ count: 2, deleted: 0 });
    expect(await objectExists(stack, 'orphan/old.json')).toBe(true);
  });

  test('with DELETE_ORPHANS=true only the old, unneeded objects are deleted', async () => {
    const result = await run({ DELETE_ORPHANS: 'true' });
    expect(result.orphans).toMatchObject({ count: 2, deleted: 2 });
    for (const [name, kept] of [['orphan/old.json', false], ['orphan/of-expired.json', false], ['orphan/fresh.json', true], ['orphan/needed.json', true]] as const) {
      expect(await objectExists(stack, name)).toBe(kept);
    }
    expect((await run()).orphans.count).toBe(0);
  });
});
