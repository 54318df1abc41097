import type { CatalogUnit } from './metric-catalog';
import type { JobName } from './observability';

/**
 * Ports every job runs over, whatever its own: the clock, where metrics go, and the run ledger
 * (the audit record of each run, and the backfill every job advances first). The adapters
 * (supabase-js, Powertools) are built by `createJobDeps`; tests put in-memory fakes in their place.
 */

/** What time it is (a run's duration, its result's timestamp, a manifest's `written_at`). */
export interface Clock {
  now(): Date;
}

/** The machine's clock. */
export const systemClock: Clock = { now: () => new Date() };

/** Where a job's metrics go: Powertools Metrics (EMF on stdout) in Lambda, a list in unit tests. */
export interface MetricsSink {
  addMetric(name: string, unit: CatalogUnit, value: number): void;
  /** Writes what was added (one EMF document) and starts over. */
  publishStoredMetrics(): void;
}

/**
 * Where a job says how far it got as it goes (files, rows): a counter on a terminal for the CLI,
 * nothing in Lambda. Optional in JobDeps: a job without one reports nothing.
 */
export interface ProgressSink {
  /** `n` more done (files handled, rows archived and deleted). */
  advance(n: number): void;
}

export type RunFinish =
  | { status: 'succeeded' | 'partial'; result: unknown }
  | { status: 'failed'; error: string };

/** One step of the backfill of rows written before export-ops' triggers existed. */
export interface BackfillStep {
  done: boolean;
  rows: number;
  /** Another run holds the batch. */
  busy?: boolean;
}

/** The audit record of job runs (export_ops.runs) and the shared backfill. */
export interface RunLedger {
  /** Records a started run; returns its id (the run id every claim and lease carries). */
  start(run: { job: JobName; scheduledTime: Date; dryRun: boolean }): Promise<string>;
  finish(runId: string, outcome: RunFinish): Promise<void>;
  /** Tracks up to `limit` more rows written before the triggers. */
  backfillStep(limit: number): Promise<BackfillStep>;
}
