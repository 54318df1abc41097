import { createHash } from 'node:crypto';
import { createReadStream, createWriteStream } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { finished } from 'node:stream/promises';
import { createGunzip } from 'node:zlib';
import type { ArchiveStore, LogStore, RecordedPart } from './ports';

/** Lines sent per restore call: ~1.5 MB of NDJSON, well inside one request and one statement. */
export const RESTORE_BATCH_ROWS = 2_000;
/** Parts listed per call to the database's part records. */
const PARTS_PAGE = 100;
const MANIFEST_SUFFIX = '.manifest.json';
const OBJECT_SUFFIX = '.ndjson.gz';

export interface RestoreSummary {
  parts: number;
  rows: number;
  inserted: number;
  /** Rows already in the table (same id or export_id): skipped, so a restore can be rerun. */
  present: number;
  /** Rows whose user no longer exists: not inserted (the app's foreign key would refuse them). */
  orphaned: number;
  dry_run: boolean;
}

/** `s3://bucket/key` or a bare key/prefix in the default bucket. */
export function parseArchiveLocation(from: string, defaultBucket: string | undefined): { bucket: string; key: string } {
  const match = /^s3:\/\/([^/]+)\/?(.*)$/.exec(from);
  if (match) return { bucket: match[1], key: match[2] };
  if (!defaultBucket) throw new Error(`--from "${from}" names no bucket: use s3://<bucket>/<prefix> or set ARCHIVE_BUCKET`);
  return { bucket: defaultBucket, key: from.replace(/^\/+/, '') };
}

/** The recorded parts whose object key starts with `prefix` (a manifest key names its own object). */
async function* recordedParts(logs: LogStore, key: string): AsyncGenerator<RecordedPart> {
  const prefix = key.endsWith(MANIFEST_SUFFIX) ? `${key.slice(0, -MANIFEST_SUFFIX.length)}${OBJECT_SUFFIX}` : key;
  let after: string | null = null;
  for (;;) {
    const page = await logs.recordedParts(prefix, after, PARTS_PAGE);
    yield* page;
    if (page.length < PARTS_PAGE) return;
    after = page[page.length - 1].object_key;
  }
}

/**
 * Reads the part's object once, decompressing it into a local file while hashing it, and
 * throws unless its SHA-256 and line count are the ones this database recorded. The rows are
 * then sent from that file, so what is inserted is exactly what was checked: a second read of
 * the object could return something else. The manifest beside the object is not read at all:
 * anyone able to write the object could write it too.
 */
async function downloadVerified(archive: ArchiveStore, bucket: string, part: RecordedPart, dir: string): Promise<string> {
  const file = join(dir, `${part.part_key}.ndjson`);
  const object = await archive.get(bucket, part.object_key);
  const hash = createHash('sha256');
  const out = createWriteStream(file);
  let rows = 0;
  for await (const line of createInterface({ input: object.pipe(createGunzip()), crlfDelay: Infinity })) {
    hash.update(`${line}\n`);
    rows += 1;
    if (!out.write(`${line}\n`)) await new Promise<void>((resolve) => out.once('drain', () => resolve()));
  }
  out.end();
  await finished(out);
  const sha256 = hash.digest('hex');
  if (sha256 !== part.sha256 || rows !== part.row_count) {
    throw new Error(
      `s3://${bucket}/${part.object_key} does not match what this database recorded for part ${part.part_key} ` +
        `(sha256 ${sha256} vs ${part.sha256}, ${rows} rows vs ${part.row_count}); nothing of this part restored`,
    );
  }
  return file;
}

/**
 * Puts archived export logs back. The parts come from the database's own records
 * (export_ops.archive_parts) under `key` (a prefix, or one part's manifest key); each part's
 * object is read once and checked against the SHA-256 and row count recorded there before any
 * of its rows is inserted, and the database checks again that every row lies in the part's
 * recorded key range. Rows already present are skipped, so it can be rerun.
 *
 * @example
 * const summary = await restoreArchive({ ...logCleanupPorts({ env, supabase }), bucket: 'archive', key: 'export-logs/export_logs/year=2026/' });
 */
export async function restoreArchive(args: {
  archive: ArchiveStore;
  logs: LogStore;
  bucket: string;
  key: string;
  dryRun?: boolean;
}): Promise<RestoreSummary> {
  const { archive, logs, bucket } = args;
  const summary: RestoreSummary = { parts: 0, rows: 0, inserted: 0, present: 0, orphaned: 0, dry_run: args.dryRun === true };
  const send = async (partKey: string, lines: string[]) => {
    const answer = await logs.restoreRows(partKey, `${lines.join('\n')}\n`, summary.dry_run);
    summary.rows += answer.rows;
    summary.inserted += answer.inserted;
    summary.present += answer.present;
    summary.orphaned += answer.orphaned;
  };
  const dir = await mkdtemp(join(tmpdir(), 'export-ops-restore-'));
  try {
    for await (const part of recordedParts(logs, args.key)) {
      const file = await downloadVerified(archive, bucket, part, dir);
      let batch: string[] = [];
      for await (const line of createInterface({ input: createReadStream(file), crlfDelay: Infinity })) {
        batch.push(line);
        if (batch.length === RESTORE_BATCH_ROWS) {
          await send(part.part_key, batch);
          batch = [];
        }
      }
      if (batch.length) await send(part.part_key, batch);
      await rm(file);
      summary.parts += 1;
    }
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
  if (summary.parts === 0) throw new Error(`no archived parts recorded under s3://${bucket}/${args.key}`);
  return summary;
}
