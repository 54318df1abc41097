/**
 * Contract of the run ledger: the same cases against the in-memory fake (./fakes.ts) and the
 * supabase-js adapter on the local stack (export_ops.runs and the backfill functions).
 */
import { createServiceClient, SupabaseRunLedger } from '../../../lambdas/shared/supabase';
import type { RunLedger } from '../../../lambdas/shared/ports';
import type { LocalStack } from '../../../local/stack';
import { databaseMode, startTestStack } from '../../support/stack';
import { FakeRunLedger } from './fakes';

interface LedgerWorld {
  runs: RunLedger;
  /** The recorded run: status, dry run, result and error. */
  recorded(id: string): Promise<{ status: string; dry_run: boolean; result: unknown; error: string | null }>;
}

interface Backend {
  start(): Promise<void>;
  stop(): Promise<void>;
  world(): Promise<LedgerWorld>;
}

const fakeBackend: Backend = {
  async start() {},
  async stop() {},
  async world() {
    const runs = new FakeRunLedger();
    return {
      runs,
      async recorded(id) {
        const run = runs.runs.find((r) => r.id === id);
        if (!run) throw new Error(`no run ${id}`);
        return { status: run.status, dry_run: run.dryRun, result: run.result ?? null, error: run.error ?? null };
      },
    };
  },
};

function realBackend(): Backend {
  let stack: LocalStack;
  return {
    async start() {
      stack = await startTestStack();
    },
    async stop() {
      await stack?.stop();
    },
    async world() {
      return {
        runs: new SupabaseRunLedger(createServiceClient(stack.supabase.url, stack.serviceRoleKey)),
        async recorded(id) {
          const { rows } = await stack.db.query<{ status: string; dry_run: boolean; result: unknown; error: string | null }>(
            'select status, dry_run, result, error from export_ops.runs where id = $1', [id]);
          return rows[0];
        },
      };
    },
  };
}

describe.each([
  ['in-memory fake', fakeBackend],
  [`supabase-js adapter on the local stack (${databaseMode})`, realBackend()],
])('run ledger contract: %s', (_name, backend) => {
  beforeAll(() => backend.start());
  afterAll(() => backend.stop());

  test('a started run is running until finished with its result, or failed with its error', async () => {
    const w = await backend.world();
    const scheduledTime = new Date(Date.now() - 60_000);
    const ok = await w.runs.start({ job: 'file-cleanup', scheduledTime, dryRun: true });
    const bad = await w.runs.start({ job: 'log-cleanup', scheduledTime, dryRun: false });
    expect(ok).toMatch(/^[0-9a-f-]{36}$/);
    expect(bad).not.toBe(ok);
    expect(await w.recorded(ok)).toMatchObject({ status: 'running', dry_run: true });
    await w.runs.finish(ok, { status: 'partial', result: { deleted_count: 3, more: true } });
    await w.runs.finish(bad, { status: 'failed', error: 'it broke' });
    expect(await w.recorded(ok)).toMatchObject({ status: 'partial', result: { deleted_count: 3, more: true }, error: null });
    expect(await w.recorded(bad)).toMatchObject({ status: 'failed', error: 'it broke' });
  });

  test('on an empty table the backfill is done at once', async () => {
    const w = await backend.world();
    expect(await w.runs.backfillStep(100)).toMatchObject({ done: true, rows: 0 });
  });
});
