import { Construct } from 'constructs';
import { JOB_DEFAULTS } from '../lambdas/shared/config';

/**
 * Settings of the export-ops stack. Each one can be given as a stack prop or as a
 * cdk.json / `-c` context value under the same camelCase key; a prop wins over context.
 * Only `supabaseUrl` is required.
 */
export interface ExportOpsSettings {
  /** Base URL of the Supabase project, e.g. `https://abc.supabase.co`. Required. */
  readonly supabaseUrl?: string;
  /**
   * Existing Secrets Manager secret (name or ARN) holding the service role key as plain text.
   * @default - a new secret with a placeholder value is created; put the key into it after deploy
   */
  readonly serviceRoleKeySecret?: string;
  /**
   * Supabase Storage bucket holding the export files.
   * @default 'exports'
   */
  readonly exportsBucket?: string;
  /**
   * Where an export's object must lie for the file cleanup to delete it: the object path starts
   * with this, `{user_id}` and `{export_id}` replaced by the row's own. Must use a placeholder,
   * so that a row, which its user writes, can only name that user's objects.
   * @default '{user_id}/' (the app stores files at `<user_id>/<file name>`)
   */
  readonly ownedPathPrefix?: string;
  /**
   * Origins (comma-separated `https://host[:port]`) whose Storage URLs the file cleanup acts on;
   * set it when the app writes file URLs with a custom domain.
   * @default - the origin of `supabaseUrl`
   */
  readonly storageUrlOrigins?: string;
  /**
   * Age in days after which `export_logs` rows are archived to S3 and deleted.
   * @default 30
   */
  readonly logRetentionDays?: number;
  /**
   * Age in hours after which export files are deleted from storage.
   * @default 24
   */
  readonly fileRetentionHours?: number;
  /**
   * Extra hours past `expires_at` before a file is deleted.
   * @default 0
   */
  readonly fileGraceHours?: number;
  /**
   * Hours an object in the exports bucket must have existed, unneeded by any export row, before
   * the file cleanup reports it as an orphan.
   * @default 48
   */
  readonly orphanGraceHours?: number;
  /**
   * Let the file cleanup delete orphaned objects (it always reports them).
   * @default false
   */
  readonly deleteOrphans?: boolean;
  /**
   * Failed deletions of one file after which the file cleanup reports it as stuck.
   * @default 5
   */
  readonly maxFileAttempts?: number;
  /**
   * Archive log rows to S3 before deleting them.
   * @default true
   */
  readonly archiveEnabled?: boolean;
  /**
   * With `archiveEnabled: false`, allow the log cleanup to delete rows without an archive.
   * @default false (it refuses)
   */
  readonly allowUnarchivedDelete?: boolean;
  /**
   * Minutes after an hour closes before the metrics job aggregates it (late-finishing exports).
   * @default 15
   */
  readonly metricsLagMinutes?: number;
  /**
   * CloudWatch namespace of the EMF metrics the jobs emit.
   * @default 'ExportOps'
   */
  readonly metricsNamespace?: string;
  /**
   * IANA time zone the cron expressions are evaluated in.
   * @default 'UTC'
   */
  readonly scheduleTimeZone?: string;
  /**
   * EventBridge Scheduler cron (six fields, with or without `cron(...)`) of the file cleanup.
   * @default '0 2 * * ? *' (daily 02:00)
   */
  readonly fileCleanupCron?: string;
  /**
   * Cron of the log cleanup.
   * @default '0 3 1 * ? *' (the 1st of each month, 03:00)
   */
  readonly logCleanupCron?: string;
  /**
   * Cron of the metrics aggregation.
   * @default '0 * * * ? *' (hourly, on the hour)
   */
  readonly metricsCron?: string;
  /**
   * Retention of the functions' CloudWatch log groups, in days (a value CloudWatch accepts).
   * @default 30
   */
  readonly functionLogRetentionDays?: number;
  /**
   * Email address subscribed to the alarm topic.
   * @default - no subscription
   */
  readonly alarmEmail?: string;
  /**
   * Alarm when the hourly export failure rate is above this percentage.
   * @default 10
   */
  readonly failureRateThreshold?: number;
  /**
   * An hour's failure rate only counts when it had at least this many finished exports
   * (quieter hours count as 0 %), so 1 failure out of 1 does not alarm.
   * @default 10
   */
  readonly failureRateMinExports?: number;
  /**
   * Alarm when the hourly average export duration is above this many milliseconds.
   * @default 5000
   */
  readonly avgDurationThresholdMs?: number;
  /**
   * Alarm when more than this many exports are started in an hour.
   * @default 1000
   */
  readonly volumeThreshold?: number;
  /**
   * Alarm when the file cleanup reports more failures than this in a day (files not deleted
   * plus failed runs). The log cleanup alarms on any failed run.
   * @default 5
   */
  readonly cleanupFailuresThreshold?: number;
  /**
   * Key prefix of the archived logs in the archive bucket (no leading or trailing slash).
   * @default 'export-logs'
   */
  readonly archivePrefix?: string;
  /**
   * Archive bucket encryption: `kms` (customer managed key with rotation) or `s3` (S3 managed).
   * @default 'kms'
   */
  readonly archiveEncryption?: 'kms' | 's3';
  /**
   * Days after which archived objects move to Glacier Instant Retrieval.
   * @default 30
   */
  readonly archiveTransitionDays?: number;
  /**
   * Days after which archived objects expire; 0 keeps them forever.
   * @default 0 (never)
   */
  readonly archiveExpirationDays?: number;
  /**
   * Object Lock default retention in days (governance mode); 0 disables Object Lock.
   * Object Lock can only be chosen when the bucket is created.
   * @default 0 (off)
   */
  readonly archiveObjectLockDays?: number;
  /**
   * Create a Glue database and table over the archive, for Athena.
   * @default false
   */
  readonly archiveTable?: boolean;
  /**
   * Name of the Glue database when `archiveTable` is on.
   * @default 'export_ops'
   */
  readonly glueDatabaseName?: string;
}

/** The validated settings, every field filled. */
export type ExportOpsConfig = Required<Omit<ExportOpsSettings, 'serviceRoleKeySecret' | 'alarmEmail' | 'storageUrlOrigins'>> &
  Pick<ExportOpsSettings, 'serviceRoleKeySecret' | 'alarmEmail' | 'storageUrlOrigins'>;

export const DEFAULTS = {
  // What the functions do by default, taken from the one place the functions define it.
  exportsBucket: JOB_DEFAULTS.exportsBucket,
  ownedPathPrefix: JOB_DEFAULTS.ownedPathPrefix,
  logRetentionDays: JOB_DEFAULTS.logRetentionDays,
  fileRetentionHours: JOB_DEFAULTS.fileRetentionHours,
  fileGraceHours: JOB_DEFAULTS.fileGraceHours,
  orphanGraceHours: JOB_DEFAULTS.orphanGraceHours,
  deleteOrphans: JOB_DEFAULTS.deleteOrphans,
  maxFileAttempts: JOB_DEFAULTS.maxFileAttempts,
  archiveEnabled: JOB_DEFAULTS.archiveEnabled,
  allowUnarchivedDelete: JOB_DEFAULTS.allowUnarchivedDelete,
  metricsLagMinutes: JOB_DEFAULTS.metricsLagMinutes,
  metricsNamespace: JOB_DEFAULTS.metricsNamespace,
  scheduleTimeZone: 'UTC',
  fileCleanupCron: '0 2 * * ? *',
  logCleanupCron: '0 3 1 * ? *',
  metricsCron: '0 * * * ? *',
  functionLogRetentionDays: 30,
  failureRateThreshold: 10,
  failureRateMinExports: 10,
  avgDurationThresholdMs: 5000,
  volumeThreshold: 1000,
  cleanupFailuresThreshold: 5,
  archivePrefix: JOB_DEFAULTS.archivePrefix,
  archiveEncryption: 'kms',
  archiveTransitionDays: 30,
  archiveExpirationDays: 0,
  archiveObjectLockDays: 0,
  archiveTable: false,
  glueDatabaseName: 'export_ops',
} as const satisfies Omit<ExportOpsConfig, 'supabaseUrl'>;

/** Values CloudWatch Logs accepts as a retention (days). */
const LOG_RETENTIONS = [1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653];

/** Thrown for a bad setting; the message names the key and the value. */
export class ConfigError extends Error {
  constructor(key: string, problem: string, value: unknown) {
    super(`Invalid export-ops setting '${key}' (stack prop or context -c ${key}=...): ${problem}; got ${JSON.stringify(value)}`);
    this.name = 'ConfigError';
  }
}

/**
 * Merges props, context and defaults, and validates the result.
 * Context values from the CLI arrive as strings, so numbers and booleans are parsed here.
 */
export function resolveConfig(scope: Construct, props: ExportOpsSettings = {}): ExportOpsConfig {
  const raw = (key: keyof ExportOpsSettings): unknown => {
    const fromProps = props[key];
    return fromProps !== undefined ? fromProps : scope.node.tryGetContext(key);
  };
  const str = (key: keyof ExportOpsSettings, fallback?: string) => optionalString(key, raw(key)) ?? fallback;
  const num = (key: keyof ExportOpsSettings, fallback: number, min: number) => number(key, raw(key), fallback, min);

  const config: ExportOpsConfig = {
    supabaseUrl: supabaseUrl(raw('supabaseUrl')),
    serviceRoleKeySecret: secretRef(str('serviceRoleKeySecret')),
    exportsBucket: matching('exportsBucket', str('exportsBucket', DEFAULTS.exportsBucket)!, /^[a-z0-9][a-z0-9._-]{1,62}$/, 'must be a storage bucket name'),
    ownedPathPrefix: matching('ownedPathPrefix', str('ownedPathPrefix', DEFAULTS.ownedPathPrefix)!, /^[^{}]*(\{(user_id|export_id)\}[^{}]*)+$/, 'must contain {user_id} or {export_id} and no other placeholder'),
    storageUrlOrigins: origins(str('storageUrlOrigins')),
    logRetentionDays: num('logRetentionDays', DEFAULTS.logRetentionDays, 1),
    fileRetentionHours: num('fileRetentionHours', DEFAULTS.fileRetentionHours, 1),
    fileGraceHours: num('fileGraceHours', DEFAULTS.fileGraceHours, 0),
    orphanGraceHours: num('orphanGraceHours', DEFAULTS.orphanGraceHours, 0),
    deleteOrphans: bool('deleteOrphans', raw('deleteOrphans'), DEFAULTS.deleteOrphans),
    maxFileAttempts: num('maxFileAttempts', DEFAULTS.maxFileAttempts, 1),
    archiveEnabled: bool('archiveEnabled', raw('archiveEnabled'), DEFAULTS.archiveEnabled),
    allowUnarchivedDelete: bool('allowUnarchivedDelete', raw('allowUnarchivedDelete'), DEFAULTS.allowUnarchivedDelete),
    metricsLagMinutes: num('metricsLagMinutes', DEFAULTS.metricsLagMinutes, 0),
    metricsNamespace: matching('metricsNamespace', str('metricsNamespace', DEFAULTS.metricsNamespace)!, /^[A-Za-z0-9.\-_/#:]{1,255}$/, 'must be a CloudWatch namespace'),
    scheduleTimeZone: timeZone(str('scheduleTimeZone', DEFAULTS.scheduleTimeZone)!),
    fileCleanupCron: cron('fileCleanupCron', str('fileCleanupCron', DEFAULTS.fileCleanupCron)!),
    logCleanupCron: cron('logCleanupCron', str('logCleanupCron', DEFAULTS.logCleanupCron)!),
    metricsCron: cron('metricsCron', str('metricsCron', DEFAULTS.metricsCron)!),
    functionLogRetentionDays: oneOf('functionLogRetentionDays', num('functionLogRetentionDays', DEFAULTS.functionLogRetentionDays, 1), LOG_RETENTIONS),
    alarmEmail: email(str('alarmEmail')),
    failureRateThreshold: num('failureRateThreshold', DEFAULTS.failureRateThreshold, 0),
    failureRateMinExports: num('failureRateMinExports', DEFAULTS.failureRateMinExports, 1),
    avgDurationThresholdMs: num('avgDurationThresholdMs', DEFAULTS.avgDurationThresholdMs, 0),
    volumeThreshold: num('volumeThreshold', DEFAULTS.volumeThreshold, 0),
    cleanupFailuresThreshold: num('cleanupFailuresThreshold', DEFAULTS.cleanupFailuresThreshold, 0),
    archivePrefix: matching('archivePrefix', str('archivePrefix', DEFAULTS.archivePrefix)!, /^[A-Za-z0-9!_.*'()-]+(\/[A-Za-z0-9!_.*'()-]+)*$/, 'must be an S3 key prefix without leading or trailing slash'),
    archiveEncryption: oneOf('archiveEncryption', str('archiveEncryption', DEFAULTS.archiveEncryption)!, ['kms', 's3'] as const),
    archiveTransitionDays: num('archiveTransitionDays', DEFAULTS.archiveTransitionDays, 0),
    archiveExpirationDays: num('archiveExpirationDays', DEFAULTS.archiveExpirationDays, 0),
    archiveObjectLockDays: num('archiveObjectLockDays', DEFAULTS.archiveObjectLockDays, 0),
    archiveTable: bool('archiveTable', raw('archiveTable'), DEFAULTS.archiveTable),
    glueDatabaseName: matching('glueDatabaseName', str('glueDatabaseName', DEFAULTS.glueDatabaseName)!, /^[a-z0-9_]{1,255}$/, 'must be lower case letters, digits and underscores'),
  };

  if (config.failureRateThreshold > 100) {
    throw new ConfigError('failureRateThreshold', 'must be a percentage between 0 and 100', config.failureRateThreshold);
  }
  if (config.archiveExpirationDays > 0 && config.archiveExpirationDays <= config.archiveTransitionDays) {
    throw new ConfigError('archiveExpirationDays', `must be 0 (never) or greater than archiveTransitionDays (${config.archiveTransitionDays})`, config.archiveExpirationDays);
  }
  return config;
}

function optionalString(key: string, value: unknown): string | undefined {
  if (value === undefined || value === null || value === '') return undefined;
  if (typeof value !== 'string') throw new ConfigError(key, 'must be a string', value);
  return value.trim();
}

function number(key: string, value: unknown, fallback: number, min: number): number {
  if (value === undefined || value === null || value === '') return fallback;
  const n = typeof value === 'number' ? value : typeof value === 'string' && value.trim() !== '' ? Number(value) : NaN;
  if (!Number.isInteger(n)) throw new ConfigError(key, 'must be a whole number', value);
  if (n < min) throw new ConfigError(key, min === 0 ? 'must not be negative' : `must be at least ${min}`, value);
  return n;
}

function bool(key: string, value: unknown, fallback: boolean): boolean {
  if (value === undefined || value === null || value === '') return fallback;
  if (value === true || value === 'true') return true;
  if (value === false || value === 'false') return false;
  throw new ConfigError(key, "must be true or false", value);
}

function matching(key: string, value: string, pattern: RegExp, problem: string): string {
  if (!pattern.test(value)) throw new ConfigError(key, problem, value);
  return value;
}

function oneOf<T extends string | number>(key: string, value: string | number, allowed: readonly T[]): T {
  if (!allowed.includes(value as T)) throw new ConfigError(key, `must be one of ${allowed.join(', ')}`, value);
  return value as T;
}

function supabaseUrl(value: unknown): string {
  const text = optionalString('supabaseUrl', value);
  if (!text) {
    throw new ConfigError('supabaseUrl', 'is required, e.g. `npx cdk synth -c supabaseUrl=https://<ref>.supabase.co`', value);
  }
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    throw new ConfigError('supabaseUrl', 'must be an absolute URL', value);
  }
  // The service role key travels in headers: plain HTTP only makes sense for a local stack.
  const local = ['localhost', '127.0.0.1'].includes(url.hostname);
  if (url.protocol !== 'https:' && !(local && url.protocol === 'http:')) {
    throw new ConfigError('supabaseUrl', 'must use https (http only for localhost)', value);
  }
  return text.replace(/\/+$/, '');
}

function origins(value: string | undefined): string | undefined {
  if (value === undefined) return undefined;
  for (const item of value.split(',').map((o) => o.trim())) {
    let origin: string | undefined;
    try {
      origin = new URL(item).origin;
    } catch {
      origin = undefined;
    }
    if (origin !== item.toLowerCase() || !/^https?:/.test(item)) {
      throw new ConfigError('storageUrlOrigins', 'must be comma-separated origins such as https://files.example.com (no path)', value);
    }
  }
  return value;
}

function secretRef(value: string | undefined): string | undefined {
  if (value === undefined) return undefined;
  const arn = /^arn:aws[a-z-]*:secretsmanager:[a-z0-9-]+:\d{12}:secret:[\w/+=.@-]+$/;
  const name = /^[\w/+=.@-]{1,512}$/;
  if (value.startsWith('arn:') ? !arn.test(value) : !name.test(value)) {
    throw new ConfigError('serviceRoleKeySecret', 'must be a Secrets Manager secret name or ARN', value);
  }
  return value;
}

function email(value: string | undefined): string | undefined {
  if (value !== undefined && !/^[^\s@]+@[^\s@]+\.[^\s@]+$/.test(value)) {
    throw new ConfigError('alarmEmail', 'must be an email address', value);
  }
  return value;
}

function timeZone(value: string): string {
  try {
    new Intl.DateTimeFormat('en-US', { timeZone: value });
  } catch {
    throw new ConfigError('scheduleTimeZone', 'must be an IANA time zone such as UTC or Europe/Berlin', value);
  }
  return value;
}

/** Field patterns of EventBridge Scheduler cron: minutes hours day-of-month month day-of-week year. */
const CRON_FIELDS: Array<[string, RegExp]> = [
  ['minutes', /^(\*|[0-5]?\d)([-/][0-5]?\d)?(,[0-5]?\d([-/][0-5]?\d)?)*$/],
  ['hours', /^(\*|[01]?\d|2[0-3])([-/]([01]?\d|2[0-3]))?(,([01]?\d|2[0-3])([-/]([01]?\d|2[0-3]))?)*$/],
  ['day-of-month', /^(\?|\*|L|LW|([1-9]|[12]\d|3[01])W?([-/,]([1-9]|[12]\d|3[01]))*)(\/\d+)?$/],
  ['month', /^(\*|(1[0-2]|0?[1-9]|JAN|FEB|MAR|APR|MAY|JUN|JUL|AUG|SEP|OCT|NOV|DEC)([-,/](1[0-2]|0?[1-9]|JAN|FEB|MAR|APR|MAY|JUN|JUL|AUG|SEP|OCT|NOV|DEC))*)$/i],
  ['day-of-week', /^(\?|\*|([1-7]|SUN|MON|TUE|WED|THU|FRI|SAT)(L|#[1-5])?([-,]([1-7]|SUN|MON|TUE|WED|THU|FRI|SAT))*)$/i],
  ['year', /^(\*|(19[7-9]\d|2[01]\d\d)([-/,]\d{1,4})*)$/],
];

/** Returns the six cron fields without the `cron(...)` wrapper. */
function cron(key: string, value: string): string {
  const body = value.replace(/^cron\((.*)\)$/, '$1').trim();
  const fields = body.split(/\s+/);
  if (fields.length !== 6) {
    throw new ConfigError(key, 'must be a six-field cron: minutes hours day-of-month month day-of-week year, e.g. 0 2 * * ? *', value);
  }
  CRON_FIELDS.forEach(([name, pattern], i) => {
    if (!pattern.test(fields[i])) throw new ConfigError(key, `has an invalid ${name} field '${fields[i]}'`, value);
  });
  // Scheduler requires exactly one of day-of-month and day-of-week to be '?'.
  if ((fields[2] === '?') === (fields[4] === '?')) {
    throw new ConfigError(key, "must have '?' in exactly one of day-of-month and day-of-week", value);
  }
  return fields.join(' ');
}
