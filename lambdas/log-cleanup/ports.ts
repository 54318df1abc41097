import type { Readable } from 'node:stream';
import type { JobDeps } from '../shared/job';

/**
 * The log cleanup's ports: the database (the rows due, archive parts and their leases) and the
 * archive store (S3). The job's logic (cleanup.ts, settle-part.ts, archive-writer.ts, restore.ts)
 * sees only these; the adapters are parts-store.ts (supabase-js) and s3-archive.ts (the S3 SDK),
 * built by adapters.ts; in-memory fakes are in test/lambdas/log-cleanup/fakes.ts.
 */

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

/** A position in (created_at, id) order. */
export interface RowKey {
  createdAt: string;
  id: string;
}

/** One page of a part's rows, as NDJSON exactly as the database wrote it. */
export interface Page {
  rows: number;
  /**
   * The NDJSON's UTF-8 bytes, one line per row, as they came over HTTP: what is hashed, counted
   * and compressed, never decoded into a string (that would cost a decode and an encode per page,
   * and put 1.6 MB strings on the heap).
   */
  ndjson: Buffer;
  /** Sum of a 64-bit hash of each row's version (id, xmin, finish time), as decimal text: what the delete recomputes. */
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
  /** The database's checksum of the rows' versions, which the delete recomputes from the rows it removes. */
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

/** Which rows: older than `cutoff` and final, or (with `userId`) that user's rows of any age. */
export interface LogScope {
  cutoff: Date;
  userId: string | null;
}

/** A part as the database recorded it when it verified the upload: the only thing restore trusts. */
export interface RecordedPart {
  part_key: string;
  object_key: string;
  sha256: string;
  row_count: number;
  state: 'verified' | 'deleted';
}

export interface RestoreCounts {
  rows: number;
  inserted: number;
  present: number;
  orphaned: number;
}

/**
 * One run's hold on archive parts. A part is a fixed key range of rows, planned once; the run
 * that claims it holds a lease, renewed by each call, and every call but `claim` refuses
 * (throws) for a part this run does not hold.
 */
export interface RunParts {
  readonly runId: string;
  /**
   * Resumes a part whose lease ran out (`resumed`), else plans the next one after `after` (at
   * most `partRows` rows, within one month, overlapping no open part); `busy` while another run
   * holds a part; `done` when no row is left.
   */
  claim(args: LogScope & { prefix: string; partRows: number; after: RowKey | null }): Promise<Claim>;
  /**
   * The part's rows that match now, in key order, in pages of at most `pageRows`. Starting a
   * part's rows over makes a verified part pending again.
   */
  rows(partKey: string, pageRows: number): AsyncIterable<Page>;
  /** The object is written and verified: the part becomes `verified` with this manifest. */
  recordManifest(partKey: string, manifest: PartManifest): Promise<void>;
  /**
   * Deletes a verified part's rows, only if they are exactly the archived ones (count and row
   * checksum); otherwise deletes nothing and makes the part pending again (`stale`).
   */
  deleteRows(partKey: string): Promise<DeleteOutcome>;
  /** Gives the part back at once (after a failure). */
  release(partKey: string): Promise<void>;
  /** Forgets a part whose range holds none of its rows any more; refuses if it holds rows. */
  drop(partKey: string): Promise<void>;
}

/** The log cleanup's database port. */
export interface LogStore {
  /** This run's parts, each call renewing its lease to `leaseSeconds`. */
  forRun(runId: string, leaseSeconds: number): RunParts;
  /** Counts for stats and dry runs (`measure`: also the eligible rows and their size); changes nothing. */
  stats(scope: LogScope, measure: boolean): Promise<CleanupStats>;
  /** Deletes up to `limit` matching rows without archiving them; returns how many. */
  deleteUnarchived(scope: LogScope, limit: number): Promise<number>;
  /** Recorded (verified or deleted) parts whose object key starts with `prefix`, by object key. */
  recordedParts(prefix: string, afterKey: string | null, limit: number): Promise<RecordedPart[]>;
  /**
   * Puts archived lines of a recorded (not pending) part back; refuses, inserting nothing, if
   * any line is not a row of the part's key range. Rows already present are skipped; a dry run
   * inserts nothing (`inserted` 0).
   */
  restoreRows(partKey: string, ndjson: string, dryRun: boolean): Promise<RestoreCounts>;
}

/** What S3 says of a stored object. */
export interface StoredObjectInfo {
  bytes: number;
  etag: string;
}

/** Where archived parts go (S3). Objects are never deleted through it. */
export interface ArchiveStore {
  /**
   * Streams `body` to the object (multipart when large); resolves with the ETag S3 gave it.
   * When `body` fails (is destroyed with an error), the upload is abandoned and rejects, and no
   * object is stored under the key by it.
   */
  upload(bucket: string, key: string, body: Readable, contentType: string): Promise<{ etag: string }>;
  /** Stores a small object in one request. */
  put(bucket: string, key: string, body: string, contentType: string): Promise<void>;
  /** Size and ETag of the stored object, or null when there is none. */
  head(bucket: string, key: string): Promise<StoredObjectInfo | null>;
  /** The object's bytes as a stream. */
  get(bucket: string, key: string): Promise<Readable>;
}

/** The ports log-cleanup needs beyond JobDeps. */
export interface LogCleanupPorts {
  logs: LogStore;
  archive: ArchiveStore;
}

export type LogCleanupDeps = JobDeps & LogCleanupPorts;
