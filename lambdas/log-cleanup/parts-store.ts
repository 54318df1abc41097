import type { SupabaseClient } from '@supabase/supabase-js';
import { must } from '../shared/job';

/** A planned archive part as recorded in export_ops.archive_parts. */
export interface ArchivePart {
  part_key: string;
  object_key: string;
  manifest_key: string;
  row_count: number;
  first_created_at: string;
  first_id: string;
  last_created_at: string;
  last_id: string;
  state: 'pending' | 'verified' | 'deleted';
  selector: { kind: 'age'; cutoff: string } | { kind: 'user'; user_id: string };
  sha256: string | null;
  bytes: number | string | null;
  etag: string | null;
  attempts: number;
}

export type Claim =
  | { kind: 'part'; part: ArchivePart; resumed: boolean }
  | { kind: 'done' }
  | { kind: 'busy'; partKey: string; leaseUntil: string };

/** One page of a part's rows, as NDJSON text exactly as the database wrote it. */
export interface Page {
  rows: number;
  ndjson: string;
  /** Sum of a 64-bit hash of each line, as decimal text (see the delete function). */
  checksum: string;
  lastCreatedAt: string | null;
  lastId: string | null;
}

export interface PartManifest {
  version: 1;
  part_key: string;
  bucket: string;
  object_key: string;
  row_count: number;
  first_key: { created_at: string; id: string } | null;
  last_key: { created_at: string; id: string } | null;
  /** SHA-256 (hex) of the uncompressed NDJSON. */
  sha256: string;
  /** The database's checksum of the rows, which the delete recomputes from the rows it removes. */
  row_checksum: string;
  uncompressed_bytes: number;
  /** Size of the stored (gzip) object. */
  bytes: number;
  etag: string;
  selector: ArchivePart['selector'];
  written_at: string;
}

export type DeleteOutcome =
  | { status: 'deleted' | 'already_deleted'; deleted: number }
  | { status: 'stale'; deleted: 0; rows_now: number; rows_archived: number };

export interface CleanupStats {
  /** Null when not measured (a real run counts what it deletes instead). */
  eligible_for_cleanup: number | null;
  total_size_estimate_mb: number | null;
  oldest_log_date: string | null;
  cutoff_date: string;
  stale_count: number;
  waiting_for_file_count: number;
  open_parts: number;
}

/**
 * The log cleanup's database port: one method per SQL function of the log-cleanup migration,
 * all reached through supabase-js RPC as service_role.
 *
 * @example
 * const store = new PartsStore(supabase, runId, 300);
 * const claim = await store.claim({ cutoff, userId: null, prefix: 'export-logs', partRows: 50_000 });
 */
export class PartsStore {
  constructor(
    private readonly supabase: SupabaseClient,
    readonly runId: string,
    /** How long a part stays this run's after its last call (see PART_LEASE_SECONDS). */
    private readonly leaseSeconds: number,
  ) {}

  /** `after`: the previous part's last key in this run (planning starts behind it). */
  async claim(args: {
    cutoff: Date; userId: string | null; prefix: string; partRows: number; after: { createdAt: string; id: string } | null;
  }): Promise<Claim> {
    const answer = must<{ part?: ArchivePart | null; resumed?: boolean; busy?: boolean; part_key?: string; lease_until?: string }>(
      'export_ops_log_cleanup_claim_part',
      await this.supabase.rpc('export_ops_log_cleanup_claim_part', {
        p_run_id: this.runId,
        p_cutoff: args.cutoff.toISOString(),
        p_user_id: args.userId,
        p_prefix: args.prefix,
        p_part_rows: args.partRows,
        p_lease_seconds: this.leaseSeconds,
        p_after_created_at: args.after?.createdAt ?? null,
        p_after_id: args.after?.id ?? null,
      }),
    );
    if (answer.busy) return { kind: 'busy', partKey: String(answer.part_key), leaseUntil: String(answer.lease_until) };
    if (!answer.part) return { kind: 'done' };
    return { kind: 'part', part: answer.part, resumed: answer.resumed === true };
  }

  /** Rows of the part after `after` (from its start when null), at most `limit`. */
  async page(partKey: string, after: { createdAt: string; id: string } | null, limit: number): Promise<Page> {
    const answer = must<{ rows: number; ndjson: string; checksum: string; last_created_at: string | null; last_id: string | null }>(
      'export_ops_log_cleanup_page',
      await this.supabase.rpc('export_ops_log_cleanup_page', {
        p_run_id: this.runId,
        p_part_key: partKey,
        p_after_created_at: after?.createdAt ?? null,
        p_after_id: after?.id ?? null,
        p_limit: limit,
        p_lease_seconds: this.leaseSeconds,
      }),
    );
    return {
      rows: answer.rows, ndjson: answer.ndjson, checksum: answer.checksum, lastCreatedAt: answer.last_created_at, lastId: answer.last_id,
    };
  }

  async recordManifest(partKey: string, manifest: PartManifest): Promise<void> {
    must('export_ops_log_cleanup_record_part', await this.supabase.rpc('export_ops_log_cleanup_record_part', {
      p_run_id: this.runId, p_part_key: partKey, p_manifest: manifest, p_lease_seconds: this.leaseSeconds,
    }));
  }

  async deleteRows(partKey: string): Promise<DeleteOutcome> {
    return must<DeleteOutcome>('export_ops_log_cleanup_delete_part', await this.supabase.rpc('export_ops_log_cleanup_delete_part', {
      p_run_id: this.runId, p_part_key: partKey,
    }));
  }

  async release(partKey: string): Promise<void> {
    must('export_ops_log_cleanup_release_part', await this.supabase.rpc('export_ops_log_cleanup_release_part', {
      p_run_id: this.runId, p_part_key: partKey,
    }));
  }

  async drop(partKey: string): Promise<void> {
    must('export_ops_log_cleanup_drop_part', await this.supabase.rpc('export_ops_log_cleanup_drop_part', {
      p_run_id: this.runId, p_part_key: partKey,
    }));
  }
}

/** Counts for stats and dry runs (and, without `measure`, the skipped rows of a real run); changes nothing. */
export async function readCleanupStats(
  supabase: SupabaseClient, cutoff: Date, userId: string | null, measure = true,
): Promise<CleanupStats> {
  return must<CleanupStats>('export_ops_log_cleanup_stats', await supabase.rpc('export_ops_log_cleanup_stats', {
    p_cutoff: cutoff.toISOString(), p_user_id: userId, p_measure: measure,
  }));
}

/** Deletes up to `limit` matching rows without archiving them (only when the config allows it). */
export async function deleteUnarchived(supabase: SupabaseClient, cutoff: Date, userId: string | null, limit: number): Promise<number> {
  return must<number>('export_ops_log_cleanup_delete_unarchived', await supabase.rpc('export_ops_log_cleanup_delete_unarchived', {
    p_cutoff: cutoff.toISOString(), p_user_id: userId, p_limit: limit,
  }));
}
