import { createHash } from 'node:crypto';
import { PassThrough } from 'node:stream';
import { once } from 'node:events';
import { createGzip } from 'node:zlib';
import { HeadObjectCommand, PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { Upload } from '@aws-sdk/lib-storage';
import type { ArchivePart, Page, PartManifest, PartsStore } from './parts-store';

/**
 * Multipart chunk size. S3's minimum is 5 MiB; 8 MiB keeps a 50k-row part (~8 MB gzipped) to one
 * or two chunks while two chunks in flight bound the upload's memory to ~16 MiB.
 */
export const UPLOAD_PART_BYTES = 8 * 1024 * 1024;
/** Chunks uploaded concurrently. */
const UPLOAD_QUEUE_SIZE = 2;
/** gzip level: 6 is zlib's default and what the `gzip` tool uses, so the floor compares like for like. */
const GZIP_LEVEL = 6;

export interface ArchiveTarget {
  s3: S3Client;
  bucket: string;
  store: PartsStore;
  /** Rows fetched per RPC call (see PAGE_ROWS). */
  pageRows: number;
}

type Key = { created_at: string; id: string };

/** The (created_at, id) of one NDJSON line, read without touching any other value. */
function keyOf(line: string): Key {
  const row = JSON.parse(line) as Key;
  return { created_at: row.created_at, id: row.id };
}

/**
 * Streams a part's rows (page by page, the next page fetched while the last is compressed) as
 * gzip NDJSON to its object key, multipart when large, then verifies the stored object (size
 * and ETag read back) and writes the manifest beside it. Returns null, writing nothing, when the
 * part's range holds none of its rows any more.
 *
 * @example
 * const manifest = await writePart({ s3, bucket, store, pageRows: 5000 }, part);
 */
export async function writePart(target: ArchiveTarget, part: ArchivePart): Promise<PartManifest | null> {
  const { s3, bucket, store } = target;
  const first = await store.page(part.part_key, null, target.pageRows);
  if (first.rows === 0) return null;

  const gzip = createGzip({ level: GZIP_LEVEL });
  const body = new PassThrough();
  let bytes = 0;
  gzip.on('data', (chunk: Buffer) => { bytes += chunk.length; });
  gzip.pipe(body);
  const upload = new Upload({
    client: s3,
    params: { Bucket: bucket, Key: part.object_key, Body: body, ContentType: 'application/gzip' },
    partSize: UPLOAD_PART_BYTES,
    queueSize: UPLOAD_QUEUE_SIZE,
  });
  const uploaded = upload.done();
  // A failed upload stops reading: end the feeding loop (it may be waiting for 'drain') with its error.
  uploaded.catch((error: unknown) => gzip.destroy(error instanceof Error ? error : new Error(String(error))));

  const hash = createHash('sha256');
  let rows = 0;
  let checksum = 0n;
  let uncompressed = 0;
  let firstKey: Key | null = null;
  let lastKey: Key | null = null;
  try {
    let page: Page = first;
    while (page.rows > 0) {
      const after = { createdAt: page.lastCreatedAt as string, id: page.lastId as string };
      // Fetch the next page while this one is hashed and compressed.
      const next = page.rows < target.pageRows ? null : store.page(part.part_key, after, target.pageRows);
      next?.catch(() => undefined);
      firstKey ??= keyOf(page.ndjson.slice(0, page.ndjson.indexOf('\n')));
      lastKey = { created_at: after.createdAt, id: after.id };
      rows += page.rows;
      checksum += BigInt(page.checksum);
      uncompressed += Buffer.byteLength(page.ndjson);
      hash.update(page.ndjson);
      if (!gzip.write(page.ndjson)) await once(gzip, 'drain');
      page = next ? await next : { rows: 0, ndjson: '', checksum: '0', lastCreatedAt: null, lastId: null };
    }
    gzip.end();
  } catch (error) {
    gzip.destroy();
    await upload.abort().catch(() => undefined);
    throw error;
  }
  const etag = (await uploaded).ETag;
  if (!etag) throw new Error(`upload of s3://${bucket}/${part.object_key} returned no ETag`);
  await verifyObject(s3, bucket, part.object_key, bytes, etag);

  const manifest: PartManifest = {
    version: 1,
    part_key: part.part_key,
    bucket,
    object_key: part.object_key,
    row_count: rows,
    first_key: firstKey,
    last_key: lastKey,
    sha256: hash.digest('hex'),
    row_checksum: checksum.toString(),
    uncompressed_bytes: uncompressed,
    bytes,
    etag,
    selector: part.selector,
    written_at: new Date().toISOString(),
  };
  await s3.send(new PutObjectCommand({
    Bucket: bucket, Key: part.manifest_key, Body: JSON.stringify(manifest, null, 2), ContentType: 'application/json',
  }));
  return manifest;
}

/** Reads the object's size and ETag back from S3 and throws unless both are what was written. */
export async function verifyObject(s3: S3Client, bucket: string, key: string, bytes: number, etag: string): Promise<void> {
  const head = await s3.send(new HeadObjectCommand({ Bucket: bucket, Key: key }));
  if (head.ContentLength !== bytes || head.ETag !== etag) {
    throw new Error(
      `s3://${bucket}/${key} does not match what was uploaded: size ${head.ContentLength} (wrote ${bytes}), ` +
        `ETag ${head.ETag} (upload said ${etag}); nothing deleted`,
    );
  }
}

/**
 * True when a verified part's object and manifest are still in S3 as recorded, so a rerun can
 * go straight to the delete instead of writing the part again.
 */
export async function recordedObjectIntact(s3: S3Client, bucket: string, part: ArchivePart): Promise<boolean> {
  if (part.etag === null || part.bytes === null) return false;
  try {
    await verifyObject(s3, bucket, part.object_key, Number(part.bytes), part.etag);
    await s3.send(new HeadObjectCommand({ Bucket: bucket, Key: part.manifest_key }));
    return true;
  } catch {
    return false;
  }
}
