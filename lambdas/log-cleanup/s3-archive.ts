import type { Readable } from 'node:stream';
import { GetObjectCommand, HeadObjectCommand, PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { Upload } from '@aws-sdk/lib-storage';
import type { ArchiveStore, StoredObjectInfo } from './ports';

/**
 * Multipart chunk size. S3's minimum is 5 MiB; 8 MiB keeps a 50k-row part (~8 MB gzipped) to one
 * or two chunks while two chunks in flight bound the upload's memory to ~16 MiB.
 */
export const UPLOAD_PART_BYTES = 8 * 1024 * 1024;
/** Chunks uploaded concurrently. */
const UPLOAD_QUEUE_SIZE = 2;

/**
 * The archive store (ArchiveStore) over the S3 SDK: uploads through lib-storage (multipart when
 * large), heads, puts and gets. Deletes nothing (the job's role has no s3:DeleteObject).
 *
 * @example
 * const archive = new S3ArchiveStore(createS3Client());
 * const { etag } = await archive.upload('archive', 'export-logs/…/part.ndjson.gz', body, 'application/gzip');
 */
export class S3ArchiveStore implements ArchiveStore {
  constructor(readonly client: S3Client) {}

  async upload(bucket: string, key: string, body: Readable, contentType: string): Promise<{ etag: string }> {
    const upload = new Upload({
      client: this.client,
      params: { Bucket: bucket, Key: key, Body: body, ContentType: contentType },
      partSize: UPLOAD_PART_BYTES,
      queueSize: UPLOAD_QUEUE_SIZE,
    });
    // A body that fails abandons the upload (a multipart upload's parts are discarded).
    let failure: unknown;
    const abandon = (error: unknown) => {
      failure ??= error;
      upload.abort().catch(() => undefined);
    };
    body.once('error', abandon);
    try {
      const done = await upload.done();
      if (failure) throw failure;
      if (!done.ETag) throw new Error(`upload of s3://${bucket}/${key} returned no ETag`);
      return { etag: done.ETag };
    } catch (error) {
      throw failure ?? error;
    } finally {
      body.off('error', abandon);
    }
  }

  async put(bucket: string, key: string, body: string, contentType: string): Promise<void> {
    await this.client.send(new PutObjectCommand({ Bucket: bucket, Key: key, Body: body, ContentType: contentType }));
  }

  async head(bucket: string, key: string): Promise<StoredObjectInfo | null> {
    try {
      const head = await this.client.send(new HeadObjectCommand({ Bucket: bucket, Key: key }));
      return { bytes: Number(head.ContentLength), etag: String(head.ETag) };
    } catch (error) {
      const status = (error as { $metadata?: { httpStatusCode?: number }; name?: string });
      if (status.$metadata?.httpStatusCode === 404 || status.name === 'NotFound' || status.name === 'NoSuchKey') return null;
      throw error;
    }
  }

  async get(bucket: string, key: string): Promise<Readable> {
    const object = await this.client.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
    return object.Body as Readable;
  }
}
