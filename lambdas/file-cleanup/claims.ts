import type { SupabaseClient } from '@supabase/supabase-js';
import { must } from '../shared/supabase';
import type { DueCursor, DueRule, FileCleanupReport, FileCleanupStore, FileRow, OrphanPage, PreviewPage } from './ports';

export type { DueRule, FileCleanupReport, FileRow } from './ports';


/**
 * The file cleanup's database port (FileCleanupStore) over supabase-js: each method is one RPC
 * to a function of the `…_file_cleanup.sql` migration, answering one JSON value (never cut by
 * the API's row cap).
 *
 * @example
 * const files = new SupabaseFileCleanupStore(supabase);
 */
export class SupabaseFileCleanupStore implements FileCleanupStore {
  constructor(readonly client: SupabaseClient) {}

  /** Claims up to `limit` due rows for this run, each with a lease. */
  async claim(runId: string, rule: DueRule, limit: number, leaseSeconds: number): Promise<FileRow[]> {
    return must('export_ops_claim_files', await this.client.rpc('export_ops_claim_files', {
      p_run_id: runId,
      p_now: rule.now.toISOString(),
      p_grace_hours: rule.graceHours,
      p_retention_hours: rule.retentionHours,
      p_limit: limit,
      p_lease_seconds: leaseSeconds,
    }));
  }

  /** Dry run: one read-only keyset page of due rows after `cursor`. */
  async preview(rule: DueRule, limit: number, cursor?: DueCursor): Promise<PreviewPage> {
    return must<PreviewPage>(
      'export_ops_preview_files',
      await this.client.rpc('export_ops_preview_files', {
        p_now: rule.now.toISOString(),
        p_grace_hours: rule.graceHours,
        p_retention_hours: rule.retentionHours,
        p_limit: limit,
        p_after_due: cursor?.due ?? null,
        p_after_id: cursor?.id ?? null,
      }),
    );
  }

  /** Marks rows expired (storage confirmed their objects gone, or they had none); returns how many changed. */
  async markExpired(ids: string[]): Promise<number> {
    if (ids.length === 0) return 0;
    return must<number>('export_ops_mark_files_expired', await this.client.rpc('export_ops_mark_files_expired', { p_ids: ids }));
  }

  /** Records a failed removal on each row (the run keeps its claim); returns each row's attempts so far. */
  async recordFailures(failures: { id: string; error: string }[]): Promise<Record<string, number>> {
    if (failures.length === 0) return {};
    return must('export_ops_record_file_failures', await this.client.rpc('export_ops_record_file_failures', { p_failures: failures }));
  }

  /** Flags rows whose path must never reach Storage, with the reason. */
  async flag(flags: { id: string; reason: string }[]): Promise<void> {
    if (flags.length === 0) return;
    must('export_ops_flag_files', await this.client.rpc('export_ops_flag_files', { p_flags: flags }));
  }

  /** Gives back every claim this run still holds (failed or unfinished rows); returns how many. */
  async releaseAll(runId: string): Promise<number> {
    return must<number>('export_ops_release_files', await this.client.rpc('export_ops_release_files', { p_run_id: runId }));
  }

  async report(maxAttempts: number, limit: number): Promise<FileCleanupReport> {
    return must('export_ops_file_cleanup_report', await this.client.rpc('export_ops_file_cleanup_report', {
      p_max_attempts: maxAttempts,
      p_limit: limit,
    }));
  }

  /** Which of `names` are still stored in `bucket`, by the database's storage.objects. */
  async stillStored(bucket: string, names: string[]): Promise<Set<string>> {
    if (names.length === 0) return new Set();
    return new Set(must<string[]>('export_ops_stored_objects', await this.client.rpc('export_ops_stored_objects', {
      p_bucket: bucket, p_names: names,
    })));
  }

  /** One page of objects older than `olderThan` that no export row needs. */
  async findOrphans(bucket: string, olderThan: Date, limit: number, afterName?: string): Promise<OrphanPage> {
    return must<OrphanPage>(
      'export_ops_find_orphans',
      await this.client.rpc('export_ops_find_orphans', {
        p_bucket: bucket,
        p_older_than: olderThan.toISOString(),
        p_limit: limit,
        p_after_name: afterName ?? null,
      }),
    );
  }
}
