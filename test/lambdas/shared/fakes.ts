import { randomUUID } from 'node:crypto';
import { Logger } from '@aws-lambda-powertools/logger';
import { loadConfig } from '../../../lambdas/shared/config';
import type { JobDeps } from '../../../lambdas/shared/job';
import type { CatalogUnit } from '../../../lambdas/shared/metric-catalog';
import type { JobName } from '../../../lambdas/shared/observability';
import type { BackfillStep, Clock, MetricsSink, RunFinish, RunLedger } from '../../../lambdas/shared/ports';

/**
 * In-memory fakes of the ports every job runs over (lambdas/shared/ports.ts), for unit tests
 * that run a job's logic without the local stack. Test code only: no Lambda bundle imports it.
 */

/** A clock that moves only when told. */
export class FakeClock implements Clock {
  constructor(private ms = Date.parse('2026-11-29T03:00:00Z')) {}
  now(): Date {
    return new Date(this.ms);
  }
  nowMs(): number {
    return this.ms;
  }
  advance(ms: number): void {
    this.ms += ms;
  }
}

/** Metrics kept as a list: what was added, and each published document. */
export class FakeMetrics implements MetricsSink {
  pending: Record<string, number> = {};
  published: Record<string, number>[] = [];
  units: Record<string, CatalogUnit> = {};
  addMetric(name: string, unit: CatalogUnit, value: number): void {
    this.pending[name] = (this.pending[name] ?? 0) + value;
    this.units[name] = unit;
  }
  publishStoredMetrics(): void {
    this.published.push(this.pending);
    this.pending = {};
  }
}

export interface FakeRun {
  id: string;
  job: JobName;
  scheduledTime: Date;
  dryRun: boolean;
  status: 'running' | RunFinish['status'];
  result?: unknown;
  error?: string;
}

/** The run ledger in memory; `backfillLeft` rows wait for the backfill (none by default). */
export class FakeRunLedger implements RunLedger {
  runs: FakeRun[] = [];
  backfillLeft = 0;
  backfillCalls = 0;
  async start(run: { job: JobName; scheduledTime: Date; dryRun: boolean }): Promise<string> {
    const id = randomUUID();
    this.runs.push({ id, ...run, status: 'running' });
    return id;
  }
  async finish(runId: string, outcome: RunFinish): Promise<void> {
    const run = this.runs.find((r) => r.id === runId);
    if (!run) throw new Error(`no run ${runId}`);
    Object.assign(run, outcome);
  }
  async backfillStep(limit: number): Promise<BackfillStep> {
    this.backfillCalls += 1;
    const rows = Math.min(limit, this.backfillLeft);
    this.backfillLeft -= rows;
    return { rows, done: this.backfillLeft === 0 };
  }
  last(): FakeRun {
    return this.runs[this.runs.length - 1];
  }
}

/** The project URL the fakes' configuration names (its origin is the trusted Storage origin). */
export const FAKE_SUPABASE_URL = 'https://ref.supabase.co';

/**
 * JobDeps over fakes: configuration from `env` (over a minimal valid one), a silent Logger,
 * FakeMetrics, a FakeClock and a FakeRunLedger; `remainingMs` unbounded unless given.
 */
export function fakeJobDeps(env: Record<string, string> = {}, options: { clock?: FakeClock; remainingMs?: () => number } = {}) {
  const deps = {
    config: loadConfig({ SUPABASE_URL: FAKE_SUPABASE_URL, SUPABASE_SERVICE_ROLE_KEY: 'fake', ...env }),
    logger: new Logger({ serviceName: 'export-ops-test', logLevel: 'SILENT' }),
    metrics: new FakeMetrics(),
    clock: options.clock ?? new FakeClock(),
    runs: new FakeRunLedger(),
    remainingMs: options.remainingMs ?? (() => Number.POSITIVE_INFINITY),
  };
  return deps satisfies JobDeps;
}
