import { createHash } from 'node:crypto';
import { createInterface } from 'node:readline';
import type { Readable } from 'node:stream';
import { createGunzip } from 'node:zlib';
import { GetObjectCommand, ListObjectsV2Command, type S3Client } from '@aws-sdk/client-s3';
import type { SupabaseClient } from '@supabase/supabase-js';
import { must } from '../shared/job';
import type { PartManifest } from './parts-store';

/** Lines sent per restore call: ~1.5 MB of NDJSON, well inside one request and one statement. */
export const RESTORE_BATCH_ROWS = 2_000;
const MANIFEST_SUFFIX = '.manifest.json';

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

async function bodyOf(s3: S3Client, bucket: string, key: string): Promise<Readable> {
  const object = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
  return object.Body as Readable;
}

/** The manifest keys at a location: the key itself if it is a manifest, else every manifest under it. */
async function* manifestKeys(s3: S3Client, bucket: string, key: string): AsyncGenerator<string> {
  if (key.endsWith(MANIFEST_SUFFIX)) {
    yield key;
    return;
  }
  let token: string | undefined;
  do {
    const page = await s3.send(new ListObjectsV2Command({ Bucket: bucket, Prefix: key, ContinuationToken: token }));
    for (const object of page.Contents ?? []) if (object.Key?.endsWith(MANIFEST_SUFFIX)) yield object.Key;
    token = page.NextContinuationToken;
  } while (token);
}

/** The part's NDJSON lines, decompressed as they stream in. */
function linesOf(body: Readable): AsyncIterable<string> {
  return createInterface({ input: body.pipe(createGunzip()), crlfDelay: Infinity });
}

/** Streams the part once and throws unless its SHA-256 and line count are the manifest's. */
async function verifyPart(s3: S3Client, bucket: string, manifest: PartManifest): Promise<void> {
  const hash = createHash('sha256');
  let rows = 0;
  for await (const line of linesOf(await bodyOf(s3, bucket, manifest.object_key))) {
    hash.update(`${line}\n`);
    rows += 1;
  }
  const sha256 = hash.digest('hex');
  if (sha256 !== manifest.sha256 || rows !== manifest.row_count) {
    throw new Error(
      `s3://${bucket}/${manifest.object_key} does not match its manifest (sha256 ${sha256} vs ${manifest.sha256}, ` +
        `${rows} rows vs ${manifest.row_count}); nothing of this part restored`,
    );
  }
}

/**
 * Puts archived export logs back: for each part at `from` (a manifest key, or a prefix holding
 * manifests) it checks the object's SHA-256 and row count against the manifest, then inserts the
 * rows exactly as archived, in batches. Rows already present are skipped, so it can be rerun.
 *
 * @example
 * const summary = await restoreArchive({ s3, supabase, bucket: 'archive', key: 'export-logs/export_logs/year=2026/' });
 */
export async function restoreArchive(args: {
  s3: S3Client;
  supabase: SupabaseClient;
  bucket: string;
  key: string;
  dryRun?: boolean;
}): Promise<RestoreSummary> {
  const { s3, supabase, bucket } = args;
  const summary: RestoreSummary = { parts: 0, rows: 0, inserted: 0, present: 0, orphaned: 0, dry_run: args.dryRun === true };
  const send = async (lines: string[]) => {
    const answer = must<{ rows: number; inserted: number; present: number; orphaned: number }>(
      'export_ops_log_cleanup_restore',
      await supabase.rpc('export_ops_log_cleanup_restore', { p_ndjson: `${lines.join('\n')}\n`, p_dry_run: summary.dry_run }),
    );
    summary.rows += answer.rows;
    summary.inserted += answer.inserted;
    summary.present += answer.present;
    summary.orphaned += answer.orphaned;
  };
  for await (const manifestKey of manifestKeys(s3, bucket, args.key)) {
    const manifest = JSON.parse(await (await bodyOf(s3, bucket, manifestKey)).toArray().then((c) => Buffer.concat(c).toString('utf8'))) as PartManifest;
    await verifyPart(s3, bucket, manifest);
    let batch: string[] = [];
    for await (const line of linesOf(await bodyOf(s3, bucket, manifest.object_key))) {
      batch.push(line);
      if (batch.length === RESTORE_BATCH_ROWS) {
        await send(batch);
        batch = [];
      }
    }
    if (batch.length) await send(batch);
    summary.parts += 1;
  }
  if (summary.parts === 0) throw new Error(`no archive manifests at s3://${bucket}/${args.key}`);
  return summary;
}
