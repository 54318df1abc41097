import { MetricUnit } from '@aws-lambda-powertools/metrics';
import * as z from 'zod';
import { jobNow } from '../shared/clock';
import { type JobDefinition, type JobResult, noPorts, scheduledInput } from '../shared/job';
import { cleanExpiredFiles, type FileCleanupOutcome } from './cleanup';

/** The schedule's `{scheduledTime}`, plus what a manual invoke may add. Anything else is refused. */
export const fileCleanupInput = scheduledInput
  .extend({
    dryRun: z.boolean().optional(),
    maxFiles: z.number().int().positive().optional(),
  })
  .strict();

export type FileCleanupInput = z.infer<typeof fileCleanupInput>;
export type FileCleanupResult = FileCleanupOutcome & JobResult;

/**
 * The daily file cleanup: reclaims expired export files and marks their rows `expired`.
 *
 * @example
 * await runJob(fileCleanupJob, deps, { scheduledTime: '2026-11-29T02:00:00Z' });
 */
export const fileCleanupJob: JobDefinition<FileCleanupInput, FileCleanupResult> = {
  name: 'file-cleanup',
  input: fileCleanupInput,
  // Supabase (database and Storage) only: no S3 client in this bundle.
  ports: noPorts,
  failureMetric: 'CleanupFailures',
  isDryRun: (input) => input.dryRun === true,
  scheduledTime: jobNow,
  run: (deps, input, runId) =>
    cleanExpiredFiles(deps, runId, {
      now: jobNow(input),
      dryRun: input.dryRun === true,
      maxFiles: input.maxFiles,
    }),
  recordMetrics(metrics, result) {
    metrics.addMetric('FilesDeleted', MetricUnit.Count, result.deleted_count);
    metrics.addMetric('FilesFailed', MetricUnit.Count, result.failed_count);
    metrics.addMetric('BytesReclaimed', MetricUnit.Bytes, result.bytes_reclaimed);
    metrics.addMetric('FilesSkipped', MetricUnit.Count, result.skipped.count);
    metrics.addMetric('CleanupFailures', MetricUnit.Count, result.failed_count);
  },
};
