import { type ArchiveDestination, recordedObjectIntact, writePart } from './archive-writer';
import type { ArchivePart, RunParts } from './ports';

/** What settling a part works with: where it is written, and this run's parts (its rows and its record). */
export interface ArchiveTarget extends ArchiveDestination {
  parts: RunParts;
  /** Rows per page read from the database (bounds the job's memory). */
  pageRows: number;
}

/**
 * How often one run writes a part again after the delete found its rows changed since the
 * upload (a row updated or newly matching in the part's range). Beyond this the run fails and
 * the part waits, pending, for the next run.
 */
export const MAX_STALE_REWRITES = 3;

export interface PartOutcome {
  /** Rows written to S3 by this run. */
  archived: number;
  /** Rows deleted by this run. */
  deleted: number;
  /** Bytes of the object written by this run. */
  bytes: number;
  /** The part held none of its rows any more and was forgotten. */
  dropped: boolean;
}

/**
 * First half of a part: its object written, verified and its manifest recorded (or, for a part
 * a crashed run left verified, its recorded object found intact and reused). A part whose range
 * holds none of its rows any more is forgotten (`dropped`).
 *
 * @example
 * const archived = await archivePart(target, claim.part);
 */
export async function archivePart(target: ArchiveTarget, part: ArchivePart): Promise<PartOutcome> {
  const { archive, bucket, parts } = target;
  if (part.state === 'verified' && (await recordedObjectIntact(archive, bucket, part))) {
    return { archived: 0, deleted: 0, bytes: 0, dropped: false };
  }
  const manifest = await writePart(target, part, parts.rows(part.part_key, target.pageRows));
  if (!manifest) {
    // The part's rows are all gone (deleted by the app or a user purge, not by us). If it was
    // uploaded before, its object and manifest stay in S3 as they were written: the job never
    // deletes archived objects (its role has no s3:DeleteObject, and under Object Lock the delete
    // could not succeed anyway, so a part depending on it would stay pending and fail every run).
    // Only the part's record is dropped, not marked 'deleted': restore replays the parts recorded
    // in export_ops.archive_parts and nothing else, so the object becomes an unreferenced archive
    // object that no restore brings back (the rows stay deleted, as the app meant), which ages out
    // with the bucket's lifecycle like any other. If the range holds rows again later, it is
    // planned anew and its object written again as a new version of the same key.
    await parts.drop(part.part_key);
    return { archived: 0, deleted: 0, bytes: 0, dropped: true };
  }
  await parts.recordManifest(part.part_key, manifest);
  return { archived: manifest.row_count, deleted: 0, bytes: manifest.bytes, dropped: false };
}

/**
 * Second half: the rows deleted — which the database does only if they are exactly the
 * archived ones. A stale part (rows changed since the upload) is written again and retried,
 * up to MAX_STALE_REWRITES times.
 *
 * @example
 * const outcome = await deleteArchivedPart(target, claim.part, await archivePart(target, claim.part));
 */
export async function deleteArchivedPart(target: ArchiveTarget, part: ArchivePart, archived: PartOutcome): Promise<PartOutcome> {
  let outcome = archived;
  for (let rewrite = 0; ; rewrite += 1) {
    const result = await target.parts.deleteRows(part.part_key);
    if (result.status !== 'stale') return { ...outcome, deleted: result.deleted };
    if (rewrite + 1 >= MAX_STALE_REWRITES) {
      throw new Error(
        `archive part ${part.part_key}: its rows kept changing after upload (${result.rows_now} now, ` +
          `${result.rows_archived} archived) ${MAX_STALE_REWRITES} times; nothing of it deleted, the next run retries`,
      );
    }
    const again = await archivePart(target, { ...part, state: 'pending' });
    if (again.dropped) return { ...again, archived: outcome.archived };
    outcome = { ...again, archived: outcome.archived + again.archived, bytes: outcome.bytes + again.bytes };
  }
}
