import type { MetricsDeps } from './ports';
import { emit, METRICS } from '../shared/metric-catalog';
import { createJobMetrics, type JobName } from '../shared/observability';

/** The jobs whose age the metrics job reports (the ones that run less often than it). */
export const WATCHED_JOBS = METRICS.SecondsSinceLastSuccess.subjects;

/**
 * Writes, for each watched job, one EMF document `SecondsSinceLastSuccess` with `Job=<that job>`:
 * seconds from its last completed real run (export_ops.runs) to `now`. A monthly job cannot be
 * watched by its own metrics (CloudWatch evaluates an alarm over at most 7 days); this hourly
 * number can. Returns the last-success times, for the run result.
 *
 * @example
 * await emitStaleness(deps, new Date()); // → { 'file-cleanup': '2026-11-29T02:00:31Z', ... }
 */
export async function emitStaleness(deps: MetricsDeps, now: Date): Promise<Record<string, string | null>> {
  const last = await deps.windows.lastSuccess();
  const out: Record<string, string | null> = {};
  for (const job of WATCHED_JOBS as readonly JobName[]) {
    const at = last[job] ?? null;
    out[job] = at;
    if (at === null) continue;
    const metrics = createJobMetrics(job, deps.config.metricsNamespace);
    emit(metrics, METRICS.SecondsSinceLastSuccess, Math.max(0, Math.round((now.getTime() - new Date(at).getTime()) / 1000)));
    metrics.publishStoredMetrics();
  }
  return out;
}
