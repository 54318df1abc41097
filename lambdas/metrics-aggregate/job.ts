import { jobNow } from '../shared/clock';
import type { JobClients, JobDefinition, JobResult } from '../shared/job';
import { emit, METRICS } from '../shared/metric-catalog';
import { statsFor } from './aggregate';
import { assertEmfEnabled, buildWindowDocuments } from './emf';
import { metricsInput, type MetricsInput } from './input';
import type { MetricsAggregatePorts, MetricsDeps, WindowAggregate } from './ports';
import { emitStaleness } from './staleness';
import { SupabaseWindowStore } from './window-store';
import { eligibleRange, HOUR_MS, planRange, type Window } from './windows';

/** A window takes one claim+aggregate and one mark round trip; stop taking windows with less left. */
export const WINDOW_TIME_BUDGET_MS = 10_000;
/** Attempts at recording a written window; failing them all risks a second emission later. */
export const MARK_ATTEMPTS = 3;
const MARK_RETRY_DELAY_MS = 200;

export interface WindowOutcome {
  start: string;
  total: number;
  succeeded: number;
  failed: number;
}

export interface MetricsResult extends JobResult {
  /** The hours considered, [from, to). */
  range?: { from: string; to: string };
  /** Unemitted hours found in the range. */
  windows_pending: number;
  /** Hours this run wrote EMF for (or, in a dry run, would). */
  windows_emitted: number;
  /** Hours another run held (or had just emitted): left to it. */
  windows_skipped: number;
  /** Hours written whose claim another run had taken over meanwhile (may be counted twice). */
  windows_claim_lost: number;
  /** EMF documents written. */
  documents: number;
  windows: WindowOutcome[];
  /** When each watched job last completed a real run (reported as SecondsSinceLastSuccess). */
  last_success?: Record<string, string | null>;
}

const outcome = (agg: WindowAggregate): WindowOutcome => {
  const all = statsFor(agg);
  return { start: new Date(agg.window_start).toISOString(), total: all.total, succeeded: all.succeeded, failed: all.failed };
};

async function markWithRetry(deps: MetricsDeps, window: Window, runId: string, documents: number, agg: WindowAggregate): Promise<boolean> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await deps.windows.markEmitted(window, runId, documents, agg);
    } catch (error) {
      if (attempt >= MARK_ATTEMPTS) throw error;
      deps.logger.warn('recording an emitted window failed; retrying', { window_start: window.start.toISOString(), attempt, error: (error as Error).message });
      await new Promise((resolve) => setTimeout(resolve, MARK_RETRY_DELAY_MS * attempt));
    }
  }
}

/** Claims, aggregates, writes and records one window; null when another run has it. */
async function emitOne(deps: MetricsDeps, window: Window, runId: string): Promise<{ agg: WindowAggregate; documents: number; marked: boolean } | null> {
  const agg = await deps.windows.claimWindow(window, runId, deps.config.metricsWindowLeaseSeconds);
  if (!agg) return null;
  let documents;
  try {
    // Built before anything is written: a refusal here leaves nothing half-emitted.
    documents = buildWindowDocuments(deps.config.metricsNamespace, agg);
  } catch (error) {
    await deps.windows.releaseWindow(window, runId).catch(() => undefined);
    throw error;
  }
  for (const metrics of documents) metrics.publishStoredMetrics();
  const marked = await markWithRetry(deps, window, runId, documents.length, agg);
  if (!marked) deps.logger.warn('window emitted after its claim was taken over', { window_start: window.start.toISOString(), run_id: runId });
  return { agg, documents: documents.length, marked };
}

async function emitWindows(deps: MetricsDeps, input: MetricsInput, runId: string): Promise<Omit<MetricsResult, 'duration_ms' | 'timestamp'>> {
  const now = jobNow(input);
  const range = planRange(input, eligibleRange(now, deps.config.metricsLagMinutes));
  const dryRun = input.dryRun === true;
  if (!dryRun) assertEmfEnabled(deps.config.metricsNamespace);
  const pending = range.to > range.from ? await deps.windows.pendingWindows(range.from, range.to) : [];
  const result = {
    range: { from: range.from.toISOString(), to: range.to.toISOString() },
    windows_pending: pending.length,
    windows_emitted: 0,
    windows_skipped: 0,
    windows_claim_lost: 0,
    documents: 0,
    windows: [] as WindowOutcome[],
    dry_run: dryRun,
    more: false,
  };
  for (const start of pending) {
    if (deps.remainingMs() < WINDOW_TIME_BUDGET_MS) {
      result.more = true;
      break;
    }
    const window = { start, end: new Date(start.getTime() + HOUR_MS) };
    if (dryRun) {
      result.windows.push(outcome(await deps.windows.aggregateWindow(window)));
      result.windows_emitted++;
      continue;
    }
    const emitted = await emitOne(deps, window, runId);
    if (!emitted) {
      result.windows_skipped++;
      continue;
    }
    result.windows.push(outcome(emitted.agg));
    result.windows_emitted++;
    result.documents += emitted.documents;
    if (!emitted.marked) result.windows_claim_lost++;
  }
  if (!dryRun) {
    // Best effort: the windows are what this job is for; a failure here only leaves the
    // staleness alarms without a datapoint (logged).
    try {
      return { ...result, last_success: await emitStaleness(deps, now) };
    } catch (error) {
      deps.logger.error('could not report the jobs\' last successful runs', { error: error instanceof Error ? error.message : String(error) });
    }
  }
  return result;
}

/**
 * Hourly export metrics: each closed hour (finished_at in the hour, after the configured lag)
 * aggregated in SQL and written once as CloudWatch EMF; missed hours of the last 14 days are
 * backfilled. (Reports on the same numbers are `npx export-ops report`.)
 *
 * @example
 * await runJob(metricsAggregateJob, deps, { scheduledTime: '2026-01-15T10:00:00Z' });
 */
export const metricsAggregateJob: JobDefinition<MetricsInput, MetricsResult, MetricsAggregatePorts> = {
  name: 'metrics-aggregate',
  input: metricsInput,
  // Supabase and EMF on stdout only: no S3 client in this bundle.
  ports: ({ supabase }: JobClients): MetricsAggregatePorts => ({ windows: new SupabaseWindowStore(supabase) }),
  run: (deps, input, runId) => emitWindows(deps, input, runId),
  recordMetrics(metrics, result) {
    emit(metrics, METRICS.MetricWindowsEmitted, result.windows_emitted);
    emit(metrics, METRICS.MetricWindowsClaimLost, result.windows_claim_lost);
  },
  failureMetric: METRICS.MetricsAggregateFailures.name,
  isDryRun: (input) => input.dryRun === true,
  scheduledTime: jobNow,
};
