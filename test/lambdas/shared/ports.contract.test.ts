/**
 * Contract of the run ledger: the same cases against the in-memory fake (./fakes.ts) and the
 * supabase-js adapter on the local stack (export_ops.runs and the backfill functions).
 */
import { createServiceClient, SupabaseRunLedger } from '../../../lambdas/shared/supabase';
import type { RunLedger } from '../../../lambdas/shared/ports';
import { describeContract, inMemory, onLocalStack } from '../../support/contract';
import { FakeRunLedger } from './fakes';

interface LedgerWorld {
  runs: RunLedger;
  /** The recorded run: status, dry run, result and error. */
  recorded(id: string): Promise<{ status: string; dry_run: boolean; result: unknown; error: string | null }>;
}

const fake = inMemory<LedgerWorld>(() => {
  const runs = new FakeRunLedger();
  return {
    runs,
    async recorded(id) {
      const run = runs.runs.find((r) => r.id === id);
      if (!run) throw new Error(`no run ${id}`);
      return { status: run.status, dry_run: run.dryRun, result: run.result ?? null, error: run.error ?? null };
    },
  };
}, 'in-memory fake');

const real = onLocalStack<LedgerWorld>('supabase-js adapter', {
  async world(stack) {
    return {
      runs: new SupabaseRunLedger(createServiceClient(stack.supabase.url, stack.serviceRoleKey)),
      async recorded(id) {
        const { rows } = await stack.db.query<{ status: string; dry_run: boolean; result: unknown; error: string | null }>(
          'select status, dry_run, result, error from export_ops.runs where id = $1', [id]);
        return rows[0];
      },
    };
  },
});

describeContract('run ledger contract', [fake, real], (world) => {
  test('a started run is running until finished with its result, or failed with its error', async () => {
    const w = await world();
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
    const w = await world();
    expect(await w.runs.backfillStep(100)).toMatchObject({ done: true, rows: 0 });
  });
});
