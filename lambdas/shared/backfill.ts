import type { RunLedger } from './ports';

/**
 * Rows per backfill call: one short transaction (an RPC) of inserts into export-ops' own table.
 * An app write to a row of the batch in flight waits for it to commit: 2,000 rows took about
 * 0.3 s on a 2-core machine (10,000 took up to 2.4 s), well inside the 1 s an app statement may wait.
 */
export const BACKFILL_BATCH_ROWS = 2_000;

export interface BackfillProgress {
  /** True once every row written before export-ops' triggers is tracked. */
  done: boolean;
  /** Rows of public.export_logs read by this call. */
  rows: number;
}

/**
 * Advances the backfill of the rows the app wrote before the migration's triggers existed,
 * one batch per call, until it is complete or the time budget is spent. Every job calls it
 * first, so whichever runs first after a deploy does the work; once complete it is one cheap
 * call. The metrics job emits no hour from before the triggers until it is complete.
 *
 * @example
 * const { done } = await advanceBackfill(deps.runs, () => context.getRemainingTimeInMillis() - 30_000);
 */
export async function advanceBackfill(ledger: Pick<RunLedger, 'backfillStep'>, remainingMs: () => number): Promise<BackfillProgress> {
  const progress: BackfillProgress = { done: false, rows: 0 };
  do {
    const step = await ledger.backfillStep(BACKFILL_BATCH_ROWS);
    progress.rows += step.rows;
    progress.done = step.done;
    // Another run holds the batch: it is making the progress this one would.
    if (step.busy) break;
  } while (!progress.done && remainingMs() > 0);
  return progress;
}
