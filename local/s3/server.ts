import { mkdtemp, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export interface S3ServerOptions {
  /** Buckets to create on start. @default [] */
  buckets?: string[];
  /** Where objects are kept. @default a new temporary folder, removed on close */
  directory?: string;
  /** Port on 127.0.0.1. @default 0 (any free port) */
  port?: number;
}

export interface S3Server {
  /** e.g. `http://127.0.0.1:4569` — what AWS_ENDPOINT_URL_S3 is set to. */
  endpoint: string;
  close(): Promise<void>;
}

/**
 * Starts an S3-compatible server (s3rver) on 127.0.0.1. It speaks the S3 REST API the SDK uses
 * (Put/Get/Head/List/Delete, multipart upload) and keeps objects as files.
 *
 * @example
 * const s3 = await startS3Server({ buckets: ['export-ops-archive'] });
 */
export async function startS3Server(options: S3ServerOptions = {}): Promise<S3Server> {
  // s3rver is CommonJS without types; loaded lazily so Lambda bundles never include it.
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const S3rver = require('s3rver');
  waitForFlushedPuts();
  const directory = options.directory ?? (await mkdtemp(join(tmpdir(), 'export-ops-s3-')));
  const server = new S3rver({
    address: '127.0.0.1',
    port: options.port ?? 0,
    silent: true,
    directory,
    configureBuckets: (options.buckets ?? []).map((name) => ({ name })),
  });
  const address: { port: number } = await server.run();
  return {
    endpoint: `http://127.0.0.1:${address.port}`,
    async close() {
      await server.close();
      if (!options.directory) await rm(directory, { recursive: true, force: true });
    },
  };
}

/** How long a PUT waits for s3rver's file to hold all its bytes before answering anyway. */
const FLUSH_WAIT_MS = 5_000;
let putsWaitForFlush = false;

/**
 * s3rver answers a PUT once the body has passed through its hash, before its write stream has
 * flushed the file (lib/stores/filesystem.js, putObject), so a HEAD right after the PUT can
 * stat a file still short: `ContentLength: 0` for a 7-byte object, seen under load. S3 itself
 * is read-after-write consistent, so each PUT here answers only once the file holds every byte.
 */
function waitForFlushedPuts(): void {
  if (putsWaitForFlush) return;
  putsWaitForFlush = true;
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const FilesystemStore = require('s3rver/lib/stores/filesystem');
  const putObject = FilesystemStore.prototype.putObject;
  FilesystemStore.prototype.putObject = async function (this: { getResourcePath(b: string, k: string, t: string): string }, object: { bucket: string; key: string }) {
    const result: { size: number } = await putObject.call(this, object);
    const file = this.getResourcePath(object.bucket, object.key, 'object');
    const deadline = Date.now() + FLUSH_WAIT_MS;
    while ((await stat(file)).size < result.size && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 1));
    return result;
  };
}
