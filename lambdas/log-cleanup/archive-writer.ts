import { createHash } from 'node:crypto';
import { once } from 'node:events';
import { PassThrough } from 'node:stream';
import { createGzip } from 'node:zlib';
import type { Clock } from '../shared/ports';
import type { ArchivePart, ArchiveStore, Page, PartManifest } from './ports';

/** gzip level: 6 is zlib's default and what the `gzip` tool uses, so the floor compares like for like. */
const GZIP_LEVEL = 6;

/** Where a part is written: the archive store and its bucket, and the clock for `written_at`. */
export interface ArchiveDestination {
  archive: ArchiveStore;
  bucket: string;
  clock: Clock;
}

type Key = { created_at: string; id: string };

/** The (created_at, id) of the first NDJSON line of `ndjson`. */
function firstKeyOf(ndjson: Buffer): Key {
  const row = JSON.parse(ndjson.toString('utf8', 0, ndjson.indexOf(0x0a))) as Key;
  return { created_at: row.created_at, id: row.id };
}

/**
 * Writes a part's rows, fed as pages of NDJSON (the next page read while the last is hashed and
 * compressed), as gzip NDJSON to the part's object key, then verifies the stored object (size and
 * ETag read back) and writes the manifest beside it. Returns null, writing nothing, when the
 * pages hold no row. It never reads the database: the caller hands it the rows.
 *
 * @example
 * const manifest = await writePart({ archive, bucket, clock }, part, parts.rows(part.part_key, 5000));
 */
export async function writePart(dest: ArchiveDestination, part: ArchivePart, pages: AsyncIterable<Page>): Promise<PartManifest | null> {
  const { archive, bucket } = dest;
  const source = pages[Symbol.asyncIterator]();
  let current = await source.next();
  while (!current.done && current.value.rows === 0) current = await source.next();
  if (current.done) return null;

  const gzip = createGzip({ level: GZIP_LEVEL });
  const body = new PassThrough();
  let bytes = 0;
  gzip.on('data', (chunk: Buffer) => { bytes += chunk.length; });
  gzip.pipe(body);
  // Failures surface through `uploaded` and the feeding loop, not as unhandled 'error' events.
  let failure: Error | undefined;
  gzip.on('error', (error: Error) => { failure ??= error; });
  body.on('error', () => undefined);
  const uploaded = archive.upload(bucket, part.object_key, body, 'application/gzip');
  // A failed upload stops reading: end the feeding loop (it may be waiting for 'drain') with its error.
  uploaded.catch((error: unknown) => gzip.destroy(error instanceof Error ? error : new Error(String(error))));

  const hash = createHash('sha256');
  let rows = 0;
  let checksum = 0n;
  let uncompressed = 0;
  let firstKey: Key | null = null;
  let lastKey: Key | null = null;
  try {
    while (!current.done) {
      if (failure) throw failure;
      const page = current.value;
      // Read the next page while this one is hashed and compressed.
      const next = source.next();
      next.catch(() => undefined);
      if (page.rows > 0) {
        firstKey ??= firstKeyOf(page.ndjson);
        lastKey = { created_at: page.lastCreatedAt as string, id: page.lastId as string };
        rows += page.rows;
        checksum += BigInt(page.checksum);
        uncompressed += page.ndjson.length;
        hash.update(page.ndjson);
        if (!gzip.write(page.ndjson)) await once(gzip, 'drain');
      }
      current = await next;
    }
    gzip.end();
  } catch (error) {
    gzip.destroy();
    // The store abandons the upload when its body fails.
    body.destroy(error instanceof Error ? error : new Error(String(error)));
    await uploaded.catch(() => undefined);
    throw error;
  }
  const { etag } = await uploaded;
  await verifyObject(archive, bucket, part.object_key, bytes, etag);

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
    written_at: dest.clock.now().toISOString(),
  };
  await archive.put(bucket, part.manifest_key, JSON.stringify(manifest, null, 2), 'application/json');
  return manifest;
}

/** Reads the object's size and ETag back from the store and throws unless both are what was written. */
export async function verifyObject(archive: ArchiveStore, bucket: string, key: string, bytes: number, etag: string): Promise<void> {
  const head = await archive.head(bucket, key);
  if (!head || head.bytes !== bytes || head.etag !== etag) {
    throw new Error(
      `s3://${bucket}/${key} does not match what was uploaded: ` +
        (head ? `size ${head.bytes} (wrote ${bytes}), ETag ${head.etag} (upload said ${etag})` : 'it is not there') +
        '; nothing deleted',
    );
  }
}

/**
 * True when a verified part's object and manifest are still in the store as recorded, so a
 * rerun can go straight to the delete instead of writing the part again.
 */
export async function recordedObjectIntact(archive: ArchiveStore, bucket: string, part: ArchivePart): Promise<boolean> {
  if (part.etag === null || part.bytes === null) return false;
  try {
    await verifyObject(archive, bucket, part.object_key, Number(part.bytes), part.etag);
    return (await archive.head(bucket, part.manifest_key)) !== null;
  } catch {
    return false;
  }
}
