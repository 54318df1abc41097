import { SupabaseFileCleanupStore } from '../../../lambdas/file-cleanup/claims';
import { createServiceClient } from '../../../lambdas/shared/supabase';
import type { LocalStack } from '../../../local/stack';
import { databaseMode, startTestStack } from '../../support/stack';
import { USER } from './fixtures';

/**
 * Runs claiming at once (the drain's workers) on a PostgreSQL server: a claim whose rows
 * another run leased between its snapshot and its locks, or locked and not yet committed, must
 * still fill its batch from the rows left, never come back empty while rows are due (a run
 * reads an empty claim as "done").
 * PGlite runs one statement at a time, so there the race cannot happen: skipped under a name
 * saying so.
 */
const serverUrl = process.env.DATABASE_URL;
const describeOnServer = serverUrl ? describe : describe.skip;
const mode = serverUrl ? databaseMode : `${databaseMode}: skipped, needs DATABASE_URL (concurrent sessions)`;

const BATCH = 100;
/** A drain's workers and then some; below the local front's pool of ten connections. */
const CONCURRENT_RUNS = 8;
const RULE = { now: new Date(Date.now() - 1000), graceHours: 0, retentionHours: 24 };

describeOnServer(`file cleanup claims beside another run's, on ${mode}`, () => {
  let stack: LocalStack;
  beforeAll(async () => {
    stack = await startTestStack();
    await stack.db.query('insert into auth.users (id) values ($1) on conflict do nothing', [USER]);
  });
  afterAll(() => stack.stop());

  test('rows another run leased after this claim\'s snapshot are left to it, and the batch is filled from the others', async () => {
    // 2 x BATCH due rows without files: exactly the claim's candidate window (twice its limit).
    await insertDueRows(2 * BATCH);
    const otherRun = await newRun();
    const thisRun = await newRun();
    const claims = new SupabaseFileCleanupStore(createServiceClient(stack.supabase.url, stack.serviceRoleKey));

    // The other run leases the BATCH lowest ids (the rows this claim locks first, by id) in a
    // transaction that commits only once this claim has taken its snapshot and is waiting on
    // those leases' index entries.
    let claim: Promise<{ id: string }[]> | undefined;
    const leasedByOther = await stack.db.transaction(async (tx) => {
      const { rows } = await tx.query<{ id: string }>(
        `insert into export_ops.file_claims (export_log_id, run_id, lease_until)
         select id, $1, now() + interval '1 hour' from public.export_logs order by id limit $2 returning export_log_id::text as id`,
        [otherRun, BATCH],
      );
      claim = claims.claim(thisRun, RULE, BATCH, 600);
      await waitForClaimBlocked();
      return rows.map((r) => r.id);
    });
    const taken = await (claim as Promise<{ id: string }[]>);

    const mine = new Set(taken.map((r) => r.id));
    expect(leasedByOther.filter((id) => mine.has(id))).toEqual([]);
    expect(taken).toHaveLength(BATCH);
    const { rows: [{ n }] } = await stack.db.query<{ n: number }>(
      `select count(*)::int as n from export_ops.file_claims where run_id = $1`, [thisRun]);
    expect(n).toBe(BATCH);
  });

  test(`${CONCURRENT_RUNS} claims at once, as many as the rows allow: each batch full, no row claimed twice`, async () => {
    // More due rows than the claims take together, so none of them may come back short (an
    // earlier test's rows stay leased, and so out of the way).
    await insertDueRows(CONCURRENT_RUNS * BATCH + BATCH);
    const claims = new SupabaseFileCleanupStore(createServiceClient(stack.supabase.url, stack.serviceRoleKey));
    const runs = await Promise.all(Array.from({ length: CONCURRENT_RUNS }, () => newRun()));

    const taken = await Promise.all(runs.map((run) => claims.claim(run, RULE, BATCH, 600)));

    // Each claim raced the others' for the same lowest due rows; without the claims taking
    // turns, the last ones found every candidate locked or just leased and came back short.
    expect(taken.map((rows) => rows.length)).toEqual(runs.map(() => BATCH));
    const ids = taken.flat().map((r) => r.id);
    expect(new Set(ids).size).toBe(CONCURRENT_RUNS * BATCH);
  });

  /** `count` completed rows without files, expired a day ago: due at once. */
  async function insertDueRows(count: number): Promise<void> {
    await stack.db.query(
      `insert into public.export_logs (export_id, user_id, "timestamp", format, config, conversation_count, status, file_url, expires_at, created_at, updated_at)
       select gen_random_uuid(), $1, now() - interval '2 days', 'json', '{}', 1, 'completed', null, now() - interval '1 day', now() - interval '2 days', now() - interval '2 days'
         from generate_series(1, $2)`,
      [USER, count],
    );
  }
  async function newRun(): Promise<string> {
    return (await stack.db.query<{ id: string }>(`insert into export_ops.runs (job, dry_run) values ('file-cleanup', false) returning id`)).rows[0].id;
  }

  /** Until a session of this database waits on a lock (the claim, behind the other run's insert). */
  async function waitForClaimBlocked(): Promise<void> {
    const deadline = Date.now() + 20_000;
    for (;;) {
      const { rows } = await stack.db.query<{ n: number }>(
        `select count(*)::int as n from pg_stat_activity
          where datname = current_database() and wait_event_type = 'Lock' and query like '%export_ops_claim_files%'`);
      if (rows[0].n > 0) return;
      if (Date.now() > deadline) throw new Error('the claim never waited on the other run\'s leases');
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
  }
});

