import type { JobClients } from '../shared/job';
import { createS3Client } from '../shared/s3';
import { SupabaseLogStore } from './parts-store';
import type { LogCleanupPorts } from './ports';
import { S3ArchiveStore } from './s3-archive';

/**
 * Builds log-cleanup's own ports: the parts store over the job's supabase-js client, the archive
 * store over an S3 client. Only log-cleanup's modules import this file, so only its bundle
 * carries @aws-sdk/client-s3 and @aws-sdk/lib-storage.
 */
export function logCleanupPorts({ env, supabase }: Pick<JobClients, 'env' | 'supabase'>): LogCleanupPorts {
  return { logs: new SupabaseLogStore(supabase), archive: new S3ArchiveStore(createS3Client(env)) };
}
