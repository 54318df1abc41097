import * as z from 'zod';
import { jobNow } from '../shared/clock';
import { type JobDefinition, type JobResult, scheduledInput } from '../shared/job';
import { emit, METRICS } from '../shared/metric-catalog';
import { fileCleanupPorts } from './adapters';
import { cleanExpiredFiles, type FileCleanupOutcome } from './cleanup';
import type { FileCleanupPorts } from './ports';

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
export const fileCleanupJob: JobDefinition<FileCleanupInput, FileCleanupResult, FileCleanupPorts> = {
  name: 'file-cleanup',
  input: fileCleanupInput,
  // Supabase (database and Storage) only: no S3 client in this bundle.
  ports: fileCleanupPorts,
  failureMetric: METRICS.CleanupFailures.name,
  isDryRun: (input) => input.dryRun === true,
  scheduledTime: jobNow,
  run: (deps, input, runId) =>
    cleanExpiredFiles(deps, runId, {
      now: jobNow(input),
      dryRun: input.dryRun === true,
      maxFiles: input.maxFiles,
    }),
  recordMetrics(metrics, result) {
    emit(metrics, METRICS.FilesDeleted, result.deleted_count);
    emit(metrics, METRICS.FilesFailed, result.failed_count);
    emit(metrics, METRICS.BytesReclaimed, result.bytes_reclaimed);
    emit(metrics, METRICS.FilesSkipped, result.skipped.count);
    emit(metrics, METRICS.CleanupFailures, result.failed_count);
  },
};
