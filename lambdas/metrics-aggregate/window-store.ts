import type { SupabaseClient } from '@supabase/supabase-js';
import { must } from '../shared/supabase';
import { TOP_USERS } from './aggregate';
import type { MetricsWindowStore, WindowAggregate } from './ports';
import type { Window } from './windows';

/**
 * The metrics job's database port (MetricsWindowStore) over supabase-js: each method is one RPC
 * to a function of the `…_metrics.sql` migration; no export row leaves the database.
 *
 * @example
 * const windows = new SupabaseWindowStore(supabase);
 * const agg = await windows.aggregateWindow({ start, end });
 */
export class SupabaseWindowStore implements MetricsWindowStore {
  constructor(readonly client: SupabaseClient) {}

  async pendingWindows(from: Date, to: Date): Promise<Date[]> {
    const starts = must<string[]>('export_ops_metrics_pending_windows', await this.client.rpc('export_ops_metrics_pending_windows', {
      p_from: from.toISOString(),
      p_to: to.toISOString(),
    }));
    return starts.map((s) => new Date(s));
  }

  async aggregateWindow(window: Window, topUsers = TOP_USERS): Promise<WindowAggregate> {
    return must<WindowAggregate>('export_ops_metrics_aggregate', await this.client.rpc('export_ops_metrics_aggregate', {
      p_start: window.start.toISOString(),
      p_end: window.end.toISOString(),
      p_top_users: topUsers,
    }));
  }

  /**
   * A claim older than `leaseSeconds` (METRICS_WINDOW_LEASE_SECONDS, default 900: Lambda's longest
   * timeout is 15 minutes, so no live run holds a claim that long) belongs to a run that died.
   */
  async claimWindow(window: Window, runId: string, leaseSeconds: number): Promise<WindowAggregate | null> {
    return must<WindowAggregate | null>('export_ops_metrics_claim_window', await this.client.rpc('export_ops_metrics_claim_window', {
      p_window_start: window.start.toISOString(),
      p_window_end: window.end.toISOString(),
      p_run_id: runId,
      p_lease_seconds: leaseSeconds,
      p_top_users: TOP_USERS,
    }));
  }

  async markEmitted(window: Window, runId: string, documents: number, summary: WindowAggregate): Promise<boolean> {
    return must<boolean>('export_ops_metrics_mark_emitted', await this.client.rpc('export_ops_metrics_mark_emitted', {
      p_window_start: window.start.toISOString(),
      p_run_id: runId,
      p_documents: documents,
      p_summary: summary,
    }));
  }

  async releaseWindow(window: Window, runId: string): Promise<boolean> {
    return must<boolean>('export_ops_metrics_release_window', await this.client.rpc('export_ops_metrics_release_window', {
      p_window_start: window.start.toISOString(),
      p_run_id: runId,
    }));
  }

  async lastSuccess(): Promise<Record<string, string | null>> {
    return must<Record<string, string | null>>('export_ops_last_success', await this.client.rpc('export_ops_last_success')) ?? {};
  }
}
