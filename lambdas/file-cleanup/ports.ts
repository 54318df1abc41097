import type { JobDeps } from '../shared/job';
import type { RowObjectFields } from './object-path';

/**
 * The file cleanup's ports: the database (claims, marks, flags, reports, and what
 * storage.objects holds) and Storage (the remover). The job's logic (cleanup.ts, orphans.ts)
 * sees only these; the supabase-js adapters are in claims.ts and storage-remover.ts, the
 * in-memory fakes in test/lambdas/file-cleanup/fakes.ts.
 */

/** A row the cleanup works on, as the claim and preview return it. */
export interface FileRow extends RowObjectFields {
  file_url: string | null;
  file_size: number | null;
  attempts: number;
}

/** Which rows are due: the job's "now" and the retention settings. */
export interface DueRule {
  now: Date;
  graceHours: number;
  retentionHours: number;
}

export interface FileCleanupReport {
  flagged_total: number;
  stuck_total: number;
  stuck: { export_id: string; attempts: number; last_error: string | null }[];
}

/** A keyset position in due order (dry run). */
export interface DueCursor {
  due: string;
  id: string;
}

export interface PreviewPage {
  rows: (FileRow & { due: string })[];
  last_due: string | null;
  last_id: string | null;
}

export interface OrphanPage {
  objects: { name: string; size: number | null }[];
  last_name: string | null;
}

/**
 * Rows due for cleanup and what happens to them. Due: status `completed`, and expired more than
 * the grace ago (or, without `expires_at`, created more than the retention ago); flagged rows
 * never. A claim is a lease: a row leased by another run is not claimed.
 */
export interface FileCleanupStore {
  /** Claims up to `limit` due rows for this run, each with a lease of `leaseSeconds`. */
  claim(runId: string, rule: DueRule, limit: number, leaseSeconds: number): Promise<FileRow[]>;
  /** Dry run: one read-only page of due rows after `cursor`, in due order. */
  preview(rule: DueRule, limit: number, cursor?: DueCursor): Promise<PreviewPage>;
  /** Marks still-`completed` rows expired and drops their claims; returns how many changed. */
  markExpired(ids: string[]): Promise<number>;
  /** Records a failed removal on each (claimed) row; returns each row's attempts so far. */
  recordFailures(failures: { id: string; error: string }[]): Promise<Record<string, number>>;
  /** Flags (claimed) rows whose path must never reach Storage: they are never claimed again. */
  flag(flags: { id: string; reason: string }[]): Promise<void>;
  /** Gives back every lease this run still holds; returns how many. */
  releaseAll(runId: string): Promise<number>;
  /** Flagged rows and rows that failed `maxAttempts` times or more (still completed). */
  report(maxAttempts: number, limit: number): Promise<FileCleanupReport>;
  /** Which of `names` the database shows stored in `bucket` (storage.objects). */
  stillStored(bucket: string, names: string[]): Promise<Set<string>>;
  /** One page, by name, of objects older than `olderThan` that no completed, queued or processing row needs. */
  findOrphans(bucket: string, olderThan: Date, limit: number, afterName?: string): Promise<OrphanPage>;
}

export type RemoveOutcome =
  /**
   * Storage answered with the objects it deleted: `deleted` are their names, `bytes` their
   * sizes summed. A name sent but not in `deleted` was skipped: already gone, or (a wrong key,
   * a policy) still stored; only the database's storage.objects can tell which.
   */
  | { ok: true; deleted: string[]; bytes: number }
  | { ok: false; error: string; transient: boolean };

/** Hosted Storage refuses a bulk request of more names than this, and then deletes nothing. */
export const MAX_NAMES_PER_REMOVE = 1000;

/** Deletes objects from a bucket (Storage's bulk remove). */
export interface ObjectRemover {
  /** At most MAX_NAMES_PER_REMOVE names; throws on more. Transient failures are retried inside. */
  remove(bucket: string, names: string[]): Promise<RemoveOutcome>;
}

export interface FileCleanupPorts {
  files: FileCleanupStore;
  storage: ObjectRemover;
}

export type FileCleanupDeps = JobDeps & FileCleanupPorts;
