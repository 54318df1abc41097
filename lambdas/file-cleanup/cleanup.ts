import { resolveStoredObject, type OwnershipRule, type SkipReason } from './object-path';
import { scanOrphans, type OrphanReport } from './orphans';
import { type DueCursor, type DueRule, type FileCleanupDeps, type FileRow, MAX_NAMES_PER_REMOVE } from './ports';

/** Rows per claim: one remove() call per batch, at Storage's bulk limit. */
export const BATCH_SIZE = MAX_NAMES_PER_REMOVE;
/** Entries kept in `errors` and `skipped.rows`: a report, not a dump. */
export const MAX_REPORTED = 50;
/** Stuck rows listed in the report. */
const STUCK_LISTED = 20;
/** A dry run lists at most this many planned actions (the counts stay exact). */
export const DRY_RUN_LIST_LIMIT = 10_000;

export interface FileCleanupOptions {
  /** The job's "now" (the schedule's time), so a redelivered event works on the same cutoff. */
  now: Date;
  dryRun: boolean;
  /** Stop after this many rows. @default unlimited */
  maxFiles?: number;
}

export interface FileCleanupOutcome {
  total_found: number;
  /** Objects Storage reported deleted in this run (a dry run: objects it would delete). */
  deleted_count: number;
  /** Rows whose object Storage did not report deleted and storage.objects shows absent (a crashed run removed it). */
  already_gone_count: number;
  /** Rows that point at no stored object (an app-relative link, or no file_url): marked without a Storage call. */
  no_file_count: number;
  failed_count: number;
  logs_updated: number;
  errors: { export_id: string; error: string }[];
  bytes_reclaimed: number;
  skipped: { count: number; by_reason: Partial<Record<SkipReason, number>>; rows: { export_id: string; reason: SkipReason }[]; flagged_total: number };
  stuck: { count: number; rows: { export_id: string; attempts: number; last_error: string | null }[] };
  orphans: OrphanReport;
  /** Work may be left: the time budget ran out, or `maxFiles` stopped the run with due rows left. */
  more: boolean;
  dry_run: boolean;
  /**
   * Dry run only: exactly what a real run would delete and mark, and the bytes it would free by
   * the rows' own file_size (a real run counts what Storage reports instead).
   */
  planned?: { delete: { export_id: string; path: string }[]; mark_expired: string[]; truncated: boolean; bytes_estimate: number };
}

/** A batch split by what each row points at. */
function classify(rows: FileRow[], rule: OwnershipRule) {
  const objects: { row: FileRow; path: string }[] = [];
  const noFile: FileRow[] = [];
  const invalid: { row: FileRow; reason: SkipReason }[] = [];
  for (const row of rows) {
    const target = resolveStoredObject(row, rule);
    if (target.kind === 'object') objects.push({ row, path: target.path });
    else if (target.kind === 'none') noFile.push(row);
    else invalid.push({ row, reason: target.reason });
  }
  return { objects, noFile, invalid };
}

/**
 * Deletes expired export files through the Storage API and marks their rows expired, in
 * claimed batches of {@link BATCH_SIZE}: per batch one claim, one remove() and one update.
 * A row is marked only after Storage confirms its object gone; a failed call marks none of its
 * rows and records the attempt. Stops taking batches when the time budget runs out.
 *
 * @example
 * const outcome = await cleanExpiredFiles(deps, runId, { now: new Date(), dryRun: false });
 */
export async function cleanExpiredFiles(deps: FileCleanupDeps, runId: string, options: FileCleanupOptions): Promise<FileCleanupOutcome> {
  const { config, files } = deps;
  const rule: DueRule = { now: options.now, graceHours: config.fileGraceHours, retentionHours: config.fileRetentionHours };
  const out: FileCleanupOutcome = {
    total_found: 0, deleted_count: 0, already_gone_count: 0, no_file_count: 0, failed_count: 0, logs_updated: 0, errors: [], bytes_reclaimed: 0,
    skipped: { count: 0, by_reason: {}, rows: [], flagged_total: 0 },
    stuck: { count: 0, rows: [] },
    orphans: { scanned_all: false, count: 0, bytes: 0, deleted: 0, sample: [] },
    more: false,
    dry_run: options.dryRun,
    ...(options.dryRun ? { planned: { delete: [], mark_expired: [], truncated: false, bytes_estimate: 0 } } : {}),
  };

  try {
    await cleanBatches(deps, runId, rule, options, out);
  } finally {
    // Failed rows stay claimed until here so this run does not take them again; a crash
    // leaves them to the lease instead.
    if (!options.dryRun) await files.releaseAll(runId);
  }

  const report = await files.report(config.maxFileAttempts, STUCK_LISTED);
  out.skipped.flagged_total = report.flagged_total;
  out.stuck = { count: report.stuck_total, rows: report.stuck };
  out.orphans = await scanOrphans(deps, { now: options.now, dryRun: options.dryRun });
  return out;
}

/** Claims (or, dry, previews) and works batch after batch until none is left, the limit, or the budget. */
async function cleanBatches(
  deps: FileCleanupDeps, runId: string, rule: DueRule, options: FileCleanupOptions, out: FileCleanupOutcome,
): Promise<void> {
  const { config, files: claims } = deps;
  const limit = options.maxFiles ?? Number.POSITIVE_INFINITY;
  const skip = (row: FileRow, reason: SkipReason) => {
    out.skipped.count += 1;
    out.skipped.by_reason[reason] = (out.skipped.by_reason[reason] ?? 0) + 1;
    if (out.skipped.rows.length < MAX_REPORTED) out.skipped.rows.push({ export_id: row.export_id, reason });
  };
  let cursor: DueCursor | undefined;
  while (out.total_found < limit) {
    if (deps.remainingMs() <= 0) {
      out.more = true;
      break;
    }
    const size = Math.min(BATCH_SIZE, limit - out.total_found);
    let rows: FileRow[];
    if (options.dryRun) {
      const page = await claims.preview(rule, size, cursor);
      rows = page.rows;
      if (page.last_due && page.last_id) cursor = { due: page.last_due, id: page.last_id };
    } else {
      rows = await claims.claim(runId, rule, size, config.fileClaimLeaseSeconds);
    }
    if (rows.length === 0) break;
    out.total_found += rows.length;
    const { objects, noFile, invalid } = classify(rows, config);
    for (const { row, reason } of invalid) skip(row, reason);

    if (options.dryRun) {
      planBatch(out, objects, noFile);
      deps.progress?.advance(rows.length);
      continue;
    }
    await claims.flag(invalid.map(({ row, reason }) => ({ id: row.id, reason })));
    const confirmedGone = await removeBatch(deps, objects, out);
    out.no_file_count += noFile.length;
    out.logs_updated += await claims.markExpired([...noFile, ...confirmedGone].map((row) => row.id));
    deps.progress?.advance(rows.length);
  }
  if (out.total_found >= limit && !out.more) {
    // Stopped by maxFiles: `more` says whether due rows are left (this run's failures count:
    // they are retried), so a caller knows to run again.
    const next = await claims.preview(rule, 1, options.dryRun ? cursor : undefined);
    out.more = next.rows.length > 0;
  }
}

/**
 * One remove() for the batch's objects; returns the rows whose object is now certainly gone:
 * reported deleted by Storage, or, when not reported, absent from storage.objects. Every other
 * row (the call failed, or Storage skipped a name that is still stored: a wrong key, a policy)
 * keeps its status and records the attempt.
 */
async function removeBatch(
  deps: FileCleanupDeps, objects: { row: FileRow; path: string }[], out: FileCleanupOutcome,
): Promise<FileRow[]> {
  const { config, files: claims } = deps;
  const removal = await deps.storage.remove(config.exportsBucket, [...new Set(objects.map((o) => o.path))]);
  if (!removal.ok) {
    deps.logger.warn('remove() failed; rows kept for a later run', { rows: objects.length, error: removal.error, transient: removal.transient });
    await recordFailures(claims, objects.map((o) => o.row), removal.error, out);
    return [];
  }
  const deleted = new Set(removal.deleted);
  const unreported = objects.filter((o) => !deleted.has(o.path));
  const stored = await claims.stillStored(config.exportsBucket, unreported.map((o) => o.path));
  const stillThere = unreported.filter((o) => stored.has(o.path)).map((o) => o.row);
  out.deleted_count += deleted.size;
  out.already_gone_count += unreported.length - stillThere.length;
  out.bytes_reclaimed += removal.bytes;
  if (stillThere.length) {
    deps.logger.warn('remove() skipped objects that are still stored; rows kept', { rows: stillThere.length });
    await recordFailures(claims, stillThere, 'Storage did not delete the object and it is still stored (does the key have the right to delete it?)', out);
  }
  return objects.filter((o) => deleted.has(o.path) || !stored.has(o.path)).map((o) => o.row);
}

async function recordFailures(claims: FileCleanupDeps['files'], rows: FileRow[], error: string, out: FileCleanupOutcome): Promise<void> {
  out.failed_count += rows.length;
  await claims.recordFailures(rows.map((row) => ({ id: row.id, error })));
  for (const row of rows) {
    if (out.errors.length < MAX_REPORTED) out.errors.push({ export_id: row.export_id, error });
  }
}

function planBatch(out: FileCleanupOutcome, objects: { row: FileRow; path: string }[], noFile: FileRow[]): void {
  const planned = out.planned!;
  for (const { row, path } of objects) {
    out.deleted_count += 1;
    planned.bytes_estimate += Number(row.file_size ?? 0);
    if (planned.delete.length < DRY_RUN_LIST_LIMIT) planned.delete.push({ export_id: row.export_id, path });
    else planned.truncated = true;
  }
  out.no_file_count += noFile.length;
  for (const row of [...objects.map((o) => o.row), ...noFile]) {
    out.logs_updated += 1;
    if (planned.mark_expired.length < DRY_RUN_LIST_LIMIT) planned.mark_expired.push(row.export_id);
    else planned.truncated = true;
  }
}
