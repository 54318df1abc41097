import { SupabaseLogStore } from '../../lambdas/log-cleanup/parts-store';
import type { ArchivePart, RunParts } from '../../lambdas/log-cleanup/ports';
import { createServiceClient, SupabaseRunLedger } from '../../lambdas/shared/supabase';
import type { LocalStack } from '../../local/stack';
import { databaseMode, startTestStack } from '../support/stack';

/**
 * A part's lease as the page calls keep it (export_ops.log_part_held): a page renews it only
 * once less than half is left, and takes no lock on the part's row otherwise, so two pages of
 * one part in flight never wait for each other.
 */
const USER = '00000000-0000-0000-0000-0000000000f2';
const LEASE_SECONDS = 300;
const DAY_MS = 86_400_000;

describe(`a part's lease under page calls on ${databaseMode}`, () => {
  let stack: LocalStack;
  let parts: RunParts;
  let part: ArchivePart;

  const secondsLeft = async () => (await stack.db.query<{ left: number }>(
    `select extract(epoch from lease_until - now())::float8 as left from export_ops.archive_parts where part_key = $1`, [part.part_key])).rows[0].left;
  const setSecondsLeft = (seconds: number) => stack.db.query(
    `update export_ops.archive_parts set lease_until = now() + make_interval(secs => $2) where part_key = $1`, [part.part_key, seconds]);
  const firstPage = async () => {
    for await (const page of parts.rows(part.part_key, 2)) return page;
    throw new Error('the part has no rows');
  };

  beforeAll(async () => {
    stack = await startTestStack();
    await stack.db.query(`insert into auth.users (id) values ($1) on conflict do nothing`, [USER]);
    const createdAt = new Date(Date.now() - 60 * DAY_MS).toISOString();
    for (let i = 0; i < 3; i += 1) {
      await stack.db.query(
        `insert into public.export_logs (export_id, user_id, "timestamp", format, config, conversation_count, status, created_at, updated_at)
         values (gen_random_uuid(), $1, $2, 'json', '{}', 1, 'failed', $2, $2)`, [USER, createdAt]);
    }
    const client = createServiceClient(stack.supabase.url, stack.serviceRoleKey);
    const runId = await new SupabaseRunLedger(client).start({ job: 'log-cleanup', scheduledTime: new Date(), dryRun: false });
    parts = new SupabaseLogStore(client).forRun(runId, LEASE_SECONDS);
    const claim = await parts.claim({ cutoff: new Date(Date.now() - 30 * DAY_MS), userId: null, prefix: 'export-logs', partRows: 10, after: null });
    if (claim.kind !== 'part') throw new Error(`expected a part, got ${claim.kind}`);
    part = claim.part;
  });
  afterAll(() => stack?.stop());

  test('with more than half of the lease left, a page leaves it as it is', async () => {
    await setSecondsLeft(200);
    expect((await firstPage()).rows).toBe(2);
    expect(await secondsLeft()).toBeLessThan(201);
  });

  test('with less than half left, a page renews it to the whole lease', async () => {
    await setSecondsLeft(20);
    expect((await firstPage()).rows).toBe(2);
    expect(await secondsLeft()).toBeGreaterThan(LEASE_SECONDS - 30);
  });

  // PGlite has one connection: a transaction holding the row would hold the page call's connection too.
  (databaseMode === 'postgres' ? test : test.skip)('a page is read while another transaction holds the part\'s row', async () => {
    await setSecondsLeft(200);
    await stack.db.transaction(async (tx) => {
      await tx.query('select 1 from export_ops.archive_parts where part_key = $1 for update', [part.part_key]);
      const page = await Promise.race([
        firstPage(),
        new Promise<never>((_, reject) => setTimeout(() => reject(new Error('the page waited for the part row\'s lock')), 5_000)),
      ]);
      expect(page.rows).toBe(2);
    });
  });
});
