import { JOB_DEFAULTS } from '../shared/config';
import type { ArchivePart, LogCleanupDeps, LogScope, RowKey } from './ports';
import { archivePart, type ArchiveTarget, deleteArchivedPart, type PartOutcome } from './settle-part';

/** Tunables of one run; the defaults are what the Lambda uses. */
export interface CleanupLimits {
  /**
   * Most rows in one archive part (one object, one delete transaction). 50k rows is ~30 MB of
   * NDJSON, ~8 MB gzipped: large enough that per-part overhead is small, small enough that one
   * part's delete holds its row locks for well under a second.
   */
  partRows: number;
  /**
   * Rows per RPC page: ~1.5 MB of JSON. Three pages are in the job at once (one compressed, two
   * on their way), so this bounds its memory whatever the table size: 5,000-row pages peaked
   * ~20 MB higher (RSS, 1M rows) and were no faster.
   */
  pageRows: number;
  /**
   * How long a part stays a run's after its last call to the database (LOG_PART_LEASE_SECONDS).
   * Longer than any single step (a page, an upload chunk with the SDK's retries, a delete) so a
   * live run never loses its part; short enough that a crashed run's part is resumed by the next run.
   */
  partLeaseSeconds: number;
  /** Rows per call when deleting unarchived (archival off and explicitly allowed). */
  unarchivedBatchRows: number;
  /** A new part is started only with at least this much time left (one part takes seconds). */
  partTimeReserveMs: number;
}

export const DEFAULT_LIMITS: CleanupLimits = {
  partRows: 50_000,
  pageRows: 2_500,
  partLeaseSeconds: JOB_DEFAULTS.logPartLeaseSeconds,
  unarchivedBatchRows: 10_000,
  partTimeReserveMs: 60_000,
};

export interface CleanupProgress {
  deleted_count: number;
  archived_count: number;
  failed_count: number;
  parts: number;
  archive_bytes: number;
  /** S3 keys of the parts this run archived, the first ARCHIVED_KEYS_LISTED of them (a report, not a ledger: export_ops.archive_parts is). */
  archived_keys: string[];
  more: boolean;
  /** Set when another run holds a part: this run stopped rather than wait. */
  busy_part?: string;
}

/** Part keys listed in a run's result; a backlog run archives hundreds of parts. */
export const ARCHIVED_KEYS_LISTED = 20;

const emptyProgress = (): CleanupProgress => ({
  deleted_count: 0, archived_count: 0, failed_count: 0, parts: 0, archive_bytes: 0, archived_keys: [], more: false,
});

/**
 * Archives and deletes every matching row, one part at a time, until none is left, the time
 * budget runs low (`more: true`) or another run holds a part (`more: true`, `busy_part`).
 * The delete of one part runs while the next part is written (disjoint key ranges, different
 * resources: the database deletes while this process compresses and uploads); at most one
 * delete is in flight and each part is deleted only after its own verification.
 * A part that fails is given back at once (its lease released) and the run fails with it.
 *
 * @example
 * const progress = await archiveAndDelete(deps, runId, { cutoff, userId: null }, DEFAULT_LIMITS);
 */
export async function archiveAndDelete(
  deps: LogCleanupDeps,
  runId: string,
  scope: LogScope,
  limits: CleanupLimits,
): Promise<CleanupProgress> {
  const bucket = deps.config.archive.bucket;
  if (!bucket) throw new Error('ARCHIVE_BUCKET is required while archival is on (ARCHIVE_ENABLED is true); nothing done');
  const store = deps.logs.forRun(runId, limits.partLeaseSeconds);
  const target: ArchiveTarget = { archive: deps.archive, bucket, clock: deps.clock, parts: store, pageRows: limits.pageRows };
  const progress = emptyProgress();

  const fail = async (part: ArchivePart, error: unknown): Promise<never> => {
    await store.release(part.part_key).catch(() => undefined);
    const message = error instanceof Error ? error.message : String(error);
    deps.logger.error('archive part failed; its rows are untouched', {
      part_key: part.part_key, rows: part.row_count, error: message, done_before: progress,
    });
    throw new Error(
      `archive part ${part.part_key} failed (${message}); ` +
        `${progress.deleted_count} rows in ${progress.parts} parts were archived and deleted before it`,
      { cause: error },
    );
  };
  let deleting: { part: ArchivePart; outcome: Promise<PartOutcome> } | null = null;
  const settleDeleting = async () => {
    if (!deleting) return;
    const { part, outcome } = deleting;
    deleting = null;
    const done = await outcome.catch((error: unknown) => fail(part, error));
    progress.deleted_count += done.deleted;
    progress.archived_count += done.archived;
    progress.archive_bytes += done.bytes;
    if (!done.dropped) progress.parts += 1;
    if (!done.dropped && progress.archived_keys.length < ARCHIVED_KEYS_LISTED) progress.archived_keys.push(part.object_key);
    deps.progress?.advance(done.deleted);
  };

  let after: RowKey | null = null;
  for (;;) {
    if (deps.remainingMs() < limits.partTimeReserveMs) {
      await settleDeleting();
      return { ...progress, more: true };
    }
    const claim = await store.claim({ ...scope, prefix: deps.config.archive.prefix, partRows: limits.partRows, after });
    if (claim.kind !== 'part') {
      await settleDeleting();
      return claim.kind === 'busy' ? { ...progress, more: true, busy_part: claim.partKey } : progress;
    }
    const part = claim.part;
    // A resumed part may lie anywhere (another selector, an older cutoff): only a part this
    // run planned itself moves the cursor.
    if (!claim.resumed) after = { createdAt: part.last_created_at, id: part.last_id };
    let archived: PartOutcome;
    try {
      archived = await archivePart(target, part);
    } catch (error) {
      await settleDeleting().catch(() => undefined);
      return fail(part, error);
    }
    await settleDeleting();
    if (archived.dropped) continue;
    const outcome = deleteArchivedPart(target, part, archived);
    outcome.catch(() => undefined); // handled in settleDeleting
    deleting = { part, outcome };
  }
}

/**
 * Deletes matching rows without archiving them, in bounded batches. Only for archival off with
 * ALLOW_UNARCHIVED_DELETE=true; the caller checks that.
 */
export async function deleteWithoutArchive(
  deps: Pick<LogCleanupDeps, 'logs' | 'remainingMs' | 'progress'>,
  scope: LogScope,
  limits: CleanupLimits,
): Promise<CleanupProgress> {
  const progress = emptyProgress();
  for (;;) {
    if (deps.remainingMs() < limits.partTimeReserveMs) return { ...progress, more: true };
    const deleted = await deps.logs.deleteUnarchived(scope, limits.unarchivedBatchRows);
    progress.deleted_count += deleted;
    deps.progress?.advance(deleted);
    if (deleted < limits.unarchivedBatchRows) return progress;
  }
}
