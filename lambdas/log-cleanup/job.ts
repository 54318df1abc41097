import * as z from 'zod';
import { jobNow } from '../shared/clock';
import { type JobDefinition, type JobResult, scheduledInput } from '../shared/job';
import { emit, METRICS } from '../shared/metric-catalog';
import { archiveAndDelete, type CleanupLimits, DEFAULT_LIMITS, deleteWithoutArchive } from './cleanup';
import { logCleanupPorts } from './adapters';
import type { CleanupStats, LogCleanupPorts } from './ports';

const DAY_MS = 24 * 3600 * 1000;

/** The schedule sends `{"scheduledTime"}`; a manual run may add one of the switches below. */
export const logCleanupInput = z.strictObject({
  ...scheduledInput.shape,
  dryRun: z.boolean({ error: 'dryRun must be true or false' }).optional(),
  statsOnly: z.boolean({ error: 'statsOnly must be true or false' }).optional(),
  userId: z.uuid({ error: 'userId must be a UUID such as 0b6f2a9e-3c1d-4e5f-8a7b-9c0d1e2f3a4b' }).optional(),
});
export type LogCleanupInput = z.infer<typeof logCleanupInput>;

export interface LogCleanupResult extends JobResult {
  /** Rows deleted (archived first unless archival is off). */
  deleted_count: number;
  /** Rows written to S3 by this run. */
  archived_count: number;
  /** Rows of a part that failed in this run (the run then fails; kept for the original route's result shape). */
  failed_count: number;
  /** Parts archived and deleted. */
  parts: number;
  /** S3 keys of those parts (the first 20). */
  archived_keys?: string[];
  /** Bytes stored in S3 by this run. */
  archive_bytes: number;
  /** Rows left on purpose: stale (queued/processing) plus completed rows whose file is still stored. */
  skipped: number;
  stale_count: number;
  waiting_for_file_count: number;
  /** Rows that match: what a dry run would delete (not measured separately on a real run). */
  eligible_count?: number;
  cutoff_date: string;
  archive: 'on' | 'off';
  user_id?: string;
  stats?: CleanupStats;
  busy_part?: string;
}

/**
 * The log cleanup job: old export logs in a final state are archived to S3 as gzip NDJSON in
 * verified parts and only then deleted. `userId` purges one user's logs (any age); `statsOnly`
 * and `dryRun` change nothing. `limits` exists for tests and benchmarks (small parts, short
 * leases); the Lambda uses the defaults.
 *
 * @example
 * const result = await runJob(createLogCleanupJob(), deps, { dryRun: true });
 */
export function createLogCleanupJob(limits: Partial<CleanupLimits> = {}): JobDefinition<LogCleanupInput, LogCleanupResult, LogCleanupPorts> {
  return {
    name: 'log-cleanup',
    input: logCleanupInput,
    ports: logCleanupPorts,
    failureMetric: METRICS.LogCleanupFailures.name,
    isDryRun: (input) => input.dryRun === true || input.statsOnly === true,
    scheduledTime: jobNow,

    async run(deps, input, runId) {
      const effective: CleanupLimits = { ...DEFAULT_LIMITS, partLeaseSeconds: deps.config.logPartLeaseSeconds, ...limits };
      const now = jobNow(input);
      const cutoff = new Date(now.getTime() - deps.config.logRetentionDays * DAY_MS);
      const userId = input.userId ?? null;
      const { archive } = deps.config;
      const measure = input.statsOnly === true || input.dryRun === true;
      const stats = await deps.logs.stats({ cutoff, userId }, measure);
      const base = {
        deleted_count: 0, archived_count: 0, failed_count: 0, parts: 0, archive_bytes: 0, more: false,
        skipped: stats.stale_count + stats.waiting_for_file_count,
        stale_count: stats.stale_count,
        waiting_for_file_count: stats.waiting_for_file_count,
        ...(stats.eligible_for_cleanup === null ? {} : { eligible_count: stats.eligible_for_cleanup }),
        cutoff_date: cutoff.toISOString(),
        archive: archive.enabled ? ('on' as const) : ('off' as const),
        ...(userId ? { user_id: userId } : {}),
      };
      if (input.statsOnly) return { ...base, stats };
      if (input.dryRun) return { ...base, dry_run: true };
      if (stats.stale_count > 0) {
        deps.logger.warn('stale exports (queued/processing past the cutoff) are never cleaned up', { stale_count: stats.stale_count });
      }
      const scope = { cutoff, userId };
      if (archive.enabled) return { ...base, ...(await archiveAndDelete(deps, runId, scope, effective)) };
      if (!archive.allowUnarchivedDelete) {
        throw new Error(
          'archival is off (ARCHIVE_ENABLED=false) and ALLOW_UNARCHIVED_DELETE is not true: ' +
            'refusing to delete export logs without an archive; nothing deleted',
        );
      }
      return { ...base, ...(await deleteWithoutArchive(deps, scope, effective)) };
    },

    recordMetrics(metrics, result) {
      emit(metrics, METRICS.LogsArchived, result.archived_count);
      emit(metrics, METRICS.LogsDeleted, result.deleted_count);
      emit(metrics, METRICS.ArchiveBytes, result.archive_bytes);
    },
  };
}

/** The job as the Lambda, the CLI and the schedule run it. */
export const logCleanupJob = createLogCleanupJob();
