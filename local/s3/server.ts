import { mkdtemp, rm } from 'node:fs/promises';
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
