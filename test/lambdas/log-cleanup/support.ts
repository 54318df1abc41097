import { createHash } from 'node:crypto';
import { gunzipSync } from 'node:zlib';
import { GetObjectCommand, ListObjectsCommand, type S3Client } from '@aws-sdk/client-s3';
import { createS3Client } from '../../../lambdas/shared/s3';
import type { PartManifest } from '../../../lambdas/log-cleanup/ports';
import { S3ArchiveStore } from '../../../lambdas/log-cleanup/s3-archive';
import type { ArchiveStore } from '../../../lambdas/log-cleanup/ports';
import { seedExports } from '../../../local/seed';
import type { LocalStack } from '../../../local/stack';

/** The job's "now" in these tests; seeded rows spread 90 days back from it. */
export const NOW = new Date('2026-11-29T03:00:00Z');
export const scheduledTime = NOW.toISOString();
export const CUTOFF = new Date(NOW.getTime() - 30 * 86400_000);

/** The S3 client under a job's archive store (to watch or break its calls). */
export function s3Of(deps: { archive: ArchiveStore }): S3Client {
  if (!(deps.archive instanceof S3ArchiveStore)) throw new Error('the archive store is not the S3 adapter');
  return deps.archive.client;
}

/** Seeds realistic history (all statuses, stored files, legacy URLs) over 90 days. */
export async function seedHistory(stack: LocalStack, count = 400, seed = 1) {
  return seedExports({ db: stack.db, storageDir: stack.storageDir, supabaseUrl: stack.supabase.url }, { count, days: 90, now: NOW, seed });
}

/** Every row of public.export_logs as Postgres's own text form (exact for every column), by id. */
export async function snapshot(stack: LocalStack): Promise<Map<string, string>> {
  const { rows } = await stack.db.query<{ id: string; row: string }>('select id::text as id, e::text as row from public.export_logs e');
  return new Map(rows.map((r) => [r.id, r.row]));
}

/**
 * The rows the issue says must go, classified here in plain terms: older than the cutoff and
 * failed, expired, or completed without an object in storage.objects.
 */
export async function eligibleIds(stack: LocalStack): Promise<string[]> {
  const { rows } = await stack.db.query<{ id: string; status: string; created_at: Date; stored: boolean }>(
    `select e.id::text as id, e.status, e.created_at,
            exists (select 1 from storage.objects o where o.bucket_id = x.storage_bucket and o.name = x.storage_path) as stored
       from public.export_logs e join export_ops.exports x on x.id = e.id`,
  );
  return rows
    .filter((r) => new Date(r.created_at) < CUTOFF)
    .filter((r) => r.status === 'failed' || r.status === 'expired' || (r.status === 'completed' && !r.stored))
    .map((r) => r.id)
    .sort();
}

export interface ArchiveContents {
  manifests: PartManifest[];
  /** Every NDJSON line of every data object. */
  lines: string[];
  dataKeys: string[];
}

const readBody = async (s3: S3Client, bucket: string, key: string) =>
  Buffer.from(await (await s3.send(new GetObjectCommand({ Bucket: bucket, Key: key }))).Body!.transformToByteArray());

/**
 * Reads the whole archive bucket back through S3, checking each object against its manifest.
 * A data object without a manifest (a part interrupted before its manifest was written) is an
 * error unless `partial` is set, when it is left out.
 */
export async function readArchive(stack: LocalStack, options: { partial?: boolean } = {}): Promise<ArchiveContents> {
  const s3 = createS3Client(stack.env);
  const bucket = stack.env.ARCHIVE_BUCKET;
  const keys: string[] = [];
  // ListObjects (v1) paged by the last key, as S3 documents for listings without a delimiter:
  // the local S3 server (s3rver) answers every truncated ListObjectsV2 page with a 500, which
  // a crash storm's archive (over 1,000 objects) reaches.
  let marker: string | undefined;
  for (;;) {
    const page = await s3.send(new ListObjectsCommand({ Bucket: bucket, Marker: marker }));
    const found = (page.Contents ?? []).map((o) => o.Key as string);
    keys.push(...found);
    if (!page.IsTruncated || found.length === 0) break;
    marker = found[found.length - 1];
  }
  const manifests: PartManifest[] = [];
  const lines: string[] = [];
  const dataKeys = keys.filter((k) => k.endsWith('.ndjson.gz')).sort();
  for (const key of keys.filter((k) => k.endsWith('.manifest.json')).sort()) {
    manifests.push(JSON.parse((await readBody(s3, bucket, key)).toString('utf8')));
  }
  for (const key of dataKeys) {
    const text = gunzipSync(await readBody(s3, bucket, key)).toString('utf8');
    const manifest = manifests.find((m) => m.object_key === key);
    if (!manifest && options.partial) continue;
    if (!manifest) throw new Error(`data object ${key} has no manifest`);
    if (createHash('sha256').update(text).digest('hex') !== manifest.sha256) throw new Error(`${key}: sha256 differs from manifest`);
    lines.push(...text.split('\n').filter(Boolean));
  }
  return { manifests, lines, dataKeys };
}

/** Archived lines as Postgres row text (the same form as snapshot), by id. */
export async function archivedRows(stack: LocalStack, lines: string[]): Promise<Map<string, string>> {
  const { rows } = await stack.db.query<{ id: string; row: string }>(
    `select r.id::text as id, r::text as row from unnest($1::text[]) l, jsonb_populate_record(null::public.export_logs, l::jsonb) r`,
    [lines],
  );
  return new Map(rows.map((r) => [r.id, r.row]));
}

/** Ids archived more than once (must always be empty). */
export function duplicates(lines: string[]): string[] {
  const seen = new Set<string>();
  const twice: string[] = [];
  for (const line of lines) {
    const { id } = JSON.parse(line) as { id: string };
    if (seen.has(id)) twice.push(id);
    seen.add(id);
  }
  return twice;
}

/** The asserts every recovery test ends with: each eligible row archived exactly once, exactly, and gone. */
export async function expectArchivedExactlyOnce(stack: LocalStack, before: Map<string, string>, eligible: string[]) {
  const after = await snapshot(stack);
  const archive = await readArchive(stack);
  const archived = await archivedRows(stack, archive.lines);
  expect(duplicates(archive.lines)).toEqual([]);
  expect([...archived.keys()].sort()).toEqual(eligible);
  for (const id of eligible) {
    expect(after.has(id)).toBe(false);
    expect(archived.get(id)).toBe(before.get(id));
  }
  expect(after.size).toBe(before.size - eligible.length);
  return archive;
}
