import type { S3Client } from '@aws-sdk/client-s3';
import type { JobDeps } from '../shared/job';
import { createS3Client } from '../shared/s3';

/** The port log-cleanup needs beyond JobDeps: S3, where the archive parts go. */
export interface LogCleanupPorts {
  s3: S3Client;
}

export type LogCleanupDeps = JobDeps & LogCleanupPorts;

/**
 * Builds log-cleanup's own ports. Only log-cleanup's modules import this file, so only its
 * bundle carries @aws-sdk/client-s3 and @aws-sdk/lib-storage.
 */
export function logCleanupPorts(env: NodeJS.ProcessEnv): LogCleanupPorts {
  return { s3: createS3Client(env) };
}
