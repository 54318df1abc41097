import { decimal, flag, oneOf, text, wholeNumber, type SettingsTable } from './setting-kinds';
import { cron, email, logGroupRetentionDays, origins, pathTemplate, secretRef, supabaseUrl, timeZone } from './setting-formats';

/**
 * Every export-ops setting, declared once. Derived from this table:
 * - the functions' config (`loadConfig`, lambdas/shared/config.ts): every entry with `env`;
 * - the stack's props and context validation (`resolveConfig`, lib/config.ts): every entry with `context`;
 * - each function's environment (`jobEnvironment`, lib/job-environment.ts): the entries with `env` its job uses;
 * - the configuration tables of README.md and docs/deploy.md (`npm run docs`).
 * Both sides check a value with the same `schema`, so they cannot disagree on bounds.
 *
 * Adding a setting: one entry here, plus the code that uses it (`config.<name>` in a job, or in the stack).
 *
 * @example
 * fileGraceHours: {
 *   env: 'FILE_GRACE_HOURS', context: true, jobs: ['file-cleanup'],
 *   ...decimal({ min: 0 }), default: 0,
 *   doc: 'rows with `expires_at` are due this long after it',
 * },
 */
export const SETTINGS = {
  // The Supabase project.
  supabaseUrl: {
    env: 'SUPABASE_URL', context: true, jobs: 'all',
    ...supabaseUrl(), required: true, example: 'https://<project-ref>.supabase.co',
    doc: 'Supabase project URL',
  },
  supabaseServiceRoleKey: {
    env: 'SUPABASE_SERVICE_ROLE_KEY', jobs: [],
    ...text(), secret: true,
    doc: 'the service role key itself, for local runs; never logged. Deployed functions read `SUPABASE_SERVICE_ROLE_KEY_SECRET_ID` instead',
  },
  serviceRoleKeySecretId: {
    env: 'SUPABASE_SERVICE_ROLE_KEY_SECRET_ID', jobs: 'all', setByStack: 'the `serviceRoleKeySecret` secret, or the blank one the stack creates',
    ...text(),
    doc: 'Secrets Manager secret holding the service role key, read through Powertools Parameters and cached 5 min; this or `SUPABASE_SERVICE_ROLE_KEY` is required',
  },
  serviceRoleKeySecret: {
    context: true, jobs: [],
    ...secretRef(), defaultDoc: 'a new blank secret',
    doc: 'existing Secrets Manager secret (name or ARN) holding the service role key as plain text',
  },

  // File cleanup.
  exportsBucket: {
    env: 'EXPORTS_BUCKET', context: true, jobs: ['file-cleanup'],
    ...text({ pattern: /^[a-z0-9][a-z0-9._-]{1,62}$/, problem: 'must be a storage bucket name', type: 'bucket name' }), default: 'exports',
    doc: 'Supabase Storage bucket of the export files',
  },
  ownedPathPrefix: {
    env: 'OWNED_PATH_PREFIX', context: true, jobs: ['file-cleanup'],
    ...pathTemplate(), default: '{user_id}/',
    doc: 'every object the file cleanup deletes starts with this, `{user_id}` and `{export_id}` filled in from the row (see Security model in the README); the app stores files at `<user_id>/<file name>`',
  },
  storageUrlOrigins: {
    env: 'STORAGE_URL_ORIGINS', context: true, jobs: ['file-cleanup'],
    ...origins(), defaultDoc: 'origin of the Supabase URL',
    doc: 'origins whose Storage URLs the file cleanup acts on: set it when the app writes file URLs with a custom domain',
  },
  fileRetentionHours: {
    env: 'FILE_RETENTION_HOURS', context: true, jobs: ['file-cleanup'],
    ...wholeNumber({ min: 1 }), default: 24,
    doc: 'completed exports without `expires_at` have their file deleted this long after `created_at`',
  },
  fileGraceHours: {
    env: 'FILE_GRACE_HOURS', context: true, jobs: ['file-cleanup'],
    ...decimal({ min: 0 }), default: 0,
    doc: 'exports with `expires_at` have their file deleted this long after it',
  },
  orphanGraceHours: {
    env: 'ORPHAN_GRACE_HOURS', context: true, jobs: ['file-cleanup'],
    ...decimal({ min: 0 }), default: 48,
    doc: 'objects in the exports bucket this old that no export row needs are reported as orphans',
  },
  deleteOrphans: {
    env: 'DELETE_ORPHANS', context: true, jobs: ['file-cleanup'],
    ...flag(), default: false,
    doc: 'let the file cleanup delete orphans (it always reports them)',
  },
  maxFileAttempts: {
    env: 'MAX_FILE_ATTEMPTS', context: true, jobs: ['file-cleanup'],
    ...wholeNumber({ min: 1 }), default: 5,
    doc: 'a file whose deletion failed this often is reported as stuck',
  },
  // Leases bound how long a crashed run's work stays claimed. At least 1 s, so tests and the crash
  // storm need not wait out real leases; at most an hour, longer than any Lambda run (15 min), so
  // a crashed run's work always comes back within the hour.
  fileClaimLeaseSeconds: {
    env: 'FILE_CLAIM_LEASE_SECONDS', jobs: ['file-cleanup'],
    ...wholeNumber({ min: 1, max: 3600 }), default: 900,
    doc: 'how long a file-cleanup claim holds its rows; a crashed run\'s rows come back after it',
  },

  // Log cleanup.
  logRetentionDays: {
    env: 'LOG_RETENTION_DAYS', context: true, jobs: ['log-cleanup'],
    ...wholeNumber({ min: 1 }), default: 30,
    doc: '`export_logs` rows older than this are archived to S3 and deleted',
  },
  archiveEnabled: {
    env: 'ARCHIVE_ENABLED', context: true, jobs: ['log-cleanup'],
    ...flag(), default: true,
    doc: 'archive log rows to S3 before deleting them',
  },
  allowUnarchivedDelete: {
    env: 'ALLOW_UNARCHIVED_DELETE', context: true, jobs: ['log-cleanup'],
    ...flag(), default: false,
    doc: 'with archival off, delete rows without an archive (otherwise the log cleanup refuses)',
  },
  archiveBucket: {
    env: 'ARCHIVE_BUCKET', jobs: ['log-cleanup'], setByStack: 'the archive bucket the stack creates',
    ...text(),
    doc: 'S3 bucket the log cleanup archives to; required while archival is on',
  },
  archivePrefix: {
    env: 'ARCHIVE_PREFIX', context: true, jobs: ['log-cleanup'],
    ...text({ pattern: /^[A-Za-z0-9!_.*'()-]+(\/[A-Za-z0-9!_.*'()-]+)*$/, problem: 'must be an S3 key prefix without leading or trailing slash', type: 'S3 key prefix' }),
    bounds: 'no leading or trailing `/`', default: 'export-logs',
    doc: 'key prefix of the archive; the log cleanup may only read and write under it',
  },
  logPartLeaseSeconds: {
    env: 'LOG_PART_LEASE_SECONDS', jobs: ['log-cleanup'],
    ...wholeNumber({ min: 1, max: 3600 }), default: 600,
    doc: 'how long an archive part stays a run\'s after its last call; a crashed run\'s part is resumed after it',
  },

  // Metrics.
  metricsLagMinutes: {
    env: 'METRICS_LAG_MINUTES', context: true, jobs: ['metrics-aggregate'],
    ...decimal({ min: 0 }), default: 15,
    doc: 'an hour is aggregated this long after it closes, for exports that finish late',
  },
  metricsWindowLeaseSeconds: {
    env: 'METRICS_WINDOW_LEASE_SECONDS', jobs: ['metrics-aggregate'],
    ...wholeNumber({ min: 1, max: 3600 }), default: 900,
    doc: 'how long a metrics window claim holds; a crashed run\'s window is emitted by a later run after it',
  },
  metricsNamespace: {
    env: 'POWERTOOLS_METRICS_NAMESPACE', context: true, jobs: 'all',
    ...text({ pattern: /^[A-Za-z0-9.\-_/#:]{1,255}$/, problem: 'must be a CloudWatch namespace', type: 'CloudWatch namespace' }), default: 'ExportOps',
    doc: 'CloudWatch namespace of the EMF metrics the jobs emit',
  },
  serviceName: {
    env: 'POWERTOOLS_SERVICE_NAME', jobs: 'all', setByStack: 'the job name, e.g. `file-cleanup`',
    ...text(), default: 'export-ops',
    doc: 'the `service` key of every log line (each line also carries its `job`)',
  },

  // The stack only: schedules, log groups, alarms, the archive bucket.
  scheduleTimeZone: {
    env: 'SCHEDULE_TIME_ZONE', context: true, jobs: [],
    ...timeZone(), default: 'UTC',
    doc: 'time zone of the crons (a time skipped by a DST change does not run); `npx export-ops status` reads the variable for next run times',
  },
  fileCleanupCron: {
    env: 'FILE_CLEANUP_CRON', context: true, jobs: [],
    ...cron(), default: '0 2 * * ? *',
    doc: 'when the file cleanup runs (daily 02:00)',
  },
  logCleanupCron: {
    env: 'LOG_CLEANUP_CRON', context: true, jobs: [],
    ...cron(), default: '0 3 1 * ? *',
    doc: 'when the log cleanup runs (the 1st of each month, 03:00)',
  },
  metricsCron: {
    env: 'METRICS_CRON', context: true, jobs: [],
    ...cron(), default: '0 * * * ? *',
    doc: 'when the metrics aggregation runs (hourly, on the hour)',
  },
  // Drains (lib/drain.ts): a cleanup schedule starts a state machine that invokes the job again
  // while it answers `more: true`. Stack only: the functions do not know they are drained.
  fileCleanupWorkers: {
    context: true, jobs: [],
    ...wholeNumber({ min: 1, max: 8 }), default: 2,
    doc: 'file-cleanup invocations a drain runs side by side (each claims its own rows). Each worker keeps at most one Storage and one PostgREST request in flight, so it adds about two busy database connections to the project: see "Draining a backlog" in the README before raising it',
  },
  drainMaxIterations: {
    context: true, jobs: [],
    ...wholeNumber({ min: 1, max: 1000 }), default: 100,
    doc: 'a drain invokes its job at most this many times per worker, then stops with work left and raises the DrainCapReached alarm',
  },
  drainMaxHours: {
    context: true, jobs: [],
    ...decimal({ min: 0.25, max: 20 }), default: 6,
    doc: 'a drain starts no new invocation once its worker\'s invocations have run this long (summed `duration_ms`), then stops with work left and raises the DrainCapReached alarm; the execution itself times out one function timeout plus 5 min later',
  },
  functionLogRetentionDays: {
    context: true, jobs: [],
    ...logGroupRetentionDays(), default: 30,
    doc: 'retention of the functions\' CloudWatch log groups',
  },
  alarmEmail: {
    context: true, jobs: [],
    ...email(), defaultDoc: 'no subscription',
    doc: 'email address subscribed to the alarm topic',
  },
  failureRateThreshold: {
    context: true, jobs: [],
    ...wholeNumber({ min: 0, max: 100, maxProblem: 'must be a percentage between 0 and 100' }), default: 10,
    doc: 'alarm above this hourly export failure rate, in percent',
  },
  failureRateMinExports: {
    context: true, jobs: [],
    ...wholeNumber({ min: 1 }), default: 10,
    doc: 'an hour\'s failure rate counts only with at least this many finished exports (quieter hours count as 0 %), so 1 failure out of 1 does not alarm',
  },
  avgDurationThresholdMs: {
    context: true, jobs: [],
    ...wholeNumber({ min: 0 }), default: 5000,
    doc: 'alarm above this hourly average export duration, in milliseconds',
  },
  volumeThreshold: {
    context: true, jobs: [],
    ...wholeNumber({ min: 0 }), default: 1000,
    doc: 'alarm above this many exports started in an hour',
  },
  cleanupFailuresThreshold: {
    context: true, jobs: [],
    ...wholeNumber({ min: 0 }), default: 5,
    doc: 'alarm above this many file-cleanup failures a day (files not deleted plus failed runs); the log cleanup alarms on any failed run',
  },
  archiveEncryption: {
    context: true, jobs: [],
    ...oneOf(['kms', 's3']), default: 'kms',
    doc: 'archive bucket encryption: `kms` (customer managed key, rotated yearly) or `s3` (S3 managed)',
  },
  archiveTransitionDays: {
    context: true, jobs: [],
    ...wholeNumber({ min: 0 }), default: 30,
    doc: 'archived objects move to Glacier Instant Retrieval after this many days',
  },
  archiveExpirationDays: {
    context: true, jobs: [],
    ...wholeNumber({ min: 0 }), default: 0, defaultDoc: '`0` (never)',
    doc: 'archived objects expire after this many days (must exceed `archiveTransitionDays`); 0 keeps them forever',
  },
  archiveObjectLockDays: {
    context: true, jobs: [],
    ...wholeNumber({ min: 0 }), default: 0, defaultDoc: '`0` (off)',
    doc: 'Object Lock default retention in days, governance mode; 0 disables it. Only when the bucket is created',
  },
  archiveTable: {
    context: true, jobs: [],
    ...flag(), default: false,
    doc: 'create a Glue database and table over the archive, for Athena',
  },
  glueDatabaseName: {
    context: true, jobs: [],
    ...text({ pattern: /^[a-z0-9_]{1,255}$/, problem: 'must be lower case letters, digits and underscores', type: 'Glue database name' }), default: 'export_ops',
    doc: 'name of the Glue database when `archiveTable` is on',
  },
} as const satisfies SettingsTable;

export type Settings = typeof SETTINGS;
