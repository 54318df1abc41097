import * as z from 'zod';

/**
 * All of export-ops' configuration, read from the environment in this one place.
 * Bad values fail at start-up with every problem named by its variable.
 */
const positiveInt = (fallback: number) =>
  z.coerce.number({ error: 'must be a number' }).int('must be a whole number').positive('must be greater than 0').default(fallback);
const nonNegative = (fallback: number) =>
  z.coerce.number({ error: 'must be a number' }).min(0, 'must be 0 or more').default(fallback);
const flag = (fallback: boolean) =>
  z.enum(['true', 'false', '1', '0'], { error: 'must be true or false' })
    .default(fallback ? 'true' : 'false')
    .transform((v) => v === 'true' || v === '1');
const optionalText = z.string().trim().min(1).optional();
/**
 * A lease: how long a run's claim outlives its last call. At least 1 s (tests and the crash
 * storm use seconds, so they need not wait out real leases); at most an hour, longer than any
 * Lambda run (15 min), so a crashed run's work always comes back within the hour.
 */
const leaseSeconds = (fallback: number) => positiveInt(fallback).pipe(z.number().max(3600, 'must be at most 3600 (an hour)'));

/** Every default, in one place: the CDK stack (lib/config.ts) takes its job defaults from here. */
export const JOB_DEFAULTS = {
  exportsBucket: 'exports',
  /**
   * Where an export's object must lie for the file cleanup to delete it: the path starts with
   * this, `{user_id}` and `{export_id}` replaced by the row's own. The app stores files at
   * `<user_id>/<file name>`, so a row can only ever name its own user's folder.
   */
  ownedPathPrefix: '{user_id}/',
  archivePrefix: 'export-logs',
  archiveEnabled: true,
  allowUnarchivedDelete: false,
  logRetentionDays: 30,
  fileRetentionHours: 24,
  fileGraceHours: 0,
  orphanGraceHours: 48,
  deleteOrphans: false,
  maxFileAttempts: 5,
  fileClaimLeaseSeconds: 900,
  logPartLeaseSeconds: 600,
  metricsWindowLeaseSeconds: 900,
  metricsLagMinutes: 15,
  metricsNamespace: 'ExportOps',
} as const;

const schema = z.object({
    SUPABASE_URL: z.url({ protocol: /^https?$/, error: 'must be an http(s) URL such as https://<project>.supabase.co' }),
    SUPABASE_SERVICE_ROLE_KEY: optionalText,
    SUPABASE_SERVICE_ROLE_KEY_SECRET_ID: optionalText,
    EXPORTS_BUCKET: z.string().trim().min(1).default(JOB_DEFAULTS.exportsBucket),
    OWNED_PATH_PREFIX: z.string().trim().default(JOB_DEFAULTS.ownedPathPrefix)
      .refine((p) => /\{(user_id|export_id)\}/.test(p), 'must contain {user_id} or {export_id}, so a row can only name an object of its own')
      .refine((p) => !/\{(?!user_id\}|export_id\})[^}]*\}/.test(p), 'may use only the placeholders {user_id} and {export_id}'),
    STORAGE_URL_ORIGINS: z.string().trim().optional().transform((list, ctx) => {
      if (!list) return undefined;
      const origins: string[] = [];
      for (const item of list.split(',').map((o) => o.trim()).filter(Boolean)) {
        try {
          const url = new URL(item);
          if (!/^https?:$/.test(url.protocol) || url.origin !== item.replace(/\/+$/, '').toLowerCase()) throw new Error();
          origins.push(url.origin);
        } catch {
          ctx.addIssue({ code: 'custom', message: `must be comma-separated origins such as https://files.example.com (no path); "${item}" is not one` });
        }
      }
      return origins;
    }),
    ARCHIVE_BUCKET: optionalText,
    ARCHIVE_PREFIX: z.string().trim().default(JOB_DEFAULTS.archivePrefix).transform((p) => p.replace(/^\/+|\/+$/g, '')),
    ARCHIVE_ENABLED: flag(JOB_DEFAULTS.archiveEnabled),
    ALLOW_UNARCHIVED_DELETE: flag(JOB_DEFAULTS.allowUnarchivedDelete),
    LOG_RETENTION_DAYS: positiveInt(JOB_DEFAULTS.logRetentionDays),
    FILE_RETENTION_HOURS: positiveInt(JOB_DEFAULTS.fileRetentionHours),
    FILE_GRACE_HOURS: nonNegative(JOB_DEFAULTS.fileGraceHours),
    ORPHAN_GRACE_HOURS: nonNegative(JOB_DEFAULTS.orphanGraceHours),
    DELETE_ORPHANS: flag(JOB_DEFAULTS.deleteOrphans),
    MAX_FILE_ATTEMPTS: positiveInt(JOB_DEFAULTS.maxFileAttempts),
    FILE_CLAIM_LEASE_SECONDS: leaseSeconds(JOB_DEFAULTS.fileClaimLeaseSeconds),
    LOG_PART_LEASE_SECONDS: leaseSeconds(JOB_DEFAULTS.logPartLeaseSeconds),
    METRICS_WINDOW_LEASE_SECONDS: leaseSeconds(JOB_DEFAULTS.metricsWindowLeaseSeconds),
    METRICS_LAG_MINUTES: nonNegative(JOB_DEFAULTS.metricsLagMinutes),
    POWERTOOLS_METRICS_NAMESPACE: z.string().trim().min(1).default(JOB_DEFAULTS.metricsNamespace),
});

export interface ExportOpsConfig {
  supabaseUrl: string;
  /** Where the service-role key comes from; the key itself is never kept in this object. */
  serviceRoleKeySource: { kind: 'env' } | { kind: 'secret'; secretId: string };
  exportsBucket: string;
  /** Template every deletable object path starts with ({user_id}, {export_id} filled in per row). */
  ownedPathPrefix: string;
  /** Origins (scheme://host[:port]) of Storage URLs the file cleanup trusts: the project's own. */
  storageUrlOrigins: string[];
  archive: {
    enabled: boolean;
    /** Required when enabled (checked by the log cleanup job, which is the only user). */
    bucket?: string;
    prefix: string;
    /** With archival off, rows are deleted unarchived only when this is true. */
    allowUnarchivedDelete: boolean;
  };
  logRetentionDays: number;
  fileRetentionHours: number;
  fileGraceHours: number;
  orphanGraceHours: number;
  deleteOrphans: boolean;
  /** A file whose deletion failed this many times is reported as stuck. */
  maxFileAttempts: number;
  /** How long a file-cleanup claim holds its rows; a crashed run's rows come back after it. */
  fileClaimLeaseSeconds: number;
  /** How long a log-cleanup archive part stays a run's after its last call; a crashed run's part is resumed after it. */
  logPartLeaseSeconds: number;
  /** How long a metrics window claim holds; a crashed run's window is emitted by a later run after it. */
  metricsWindowLeaseSeconds: number;
  /** How long after an hour closes before it is aggregated, for exports that finish late. */
  metricsLagMinutes: number;
  metricsNamespace: string;
}

export class ConfigError extends Error {
  constructor(readonly problems: string[]) {
    super(`invalid configuration:\n  ${problems.join('\n  ')}`);
    this.name = 'ConfigError';
  }
}

/**
 * Reads and checks the configuration.
 *
 * @example
 * const config = loadConfig(); // throws ConfigError naming each bad variable
 */
export function loadConfig(env: NodeJS.ProcessEnv = process.env): ExportOpsConfig {
  // Empty strings count as unset, as a shell `export X=` means.
  const present = Object.fromEntries(Object.entries(env).filter(([, v]) => v !== undefined && v !== ''));
  const parsed = schema.safeParse(present);
  const problems = parsed.success
    ? []
    : parsed.error.issues.map((issue) => {
        const name = String(issue.path[0]);
        const value = env[name];
        return `${name} ${issue.message}${value === undefined || name.includes('KEY') ? '' : ` (got "${value}")`}`;
      });
  if (!present.SUPABASE_SERVICE_ROLE_KEY && !present.SUPABASE_SERVICE_ROLE_KEY_SECRET_ID) {
    problems.push('SUPABASE_SERVICE_ROLE_KEY is required (or SUPABASE_SERVICE_ROLE_KEY_SECRET_ID naming a Secrets Manager secret)');
  }
  if (!parsed.success || problems.length) throw new ConfigError(problems);
  const e = parsed.data;
  return {
    supabaseUrl: e.SUPABASE_URL.replace(/\/+$/, ''),
    serviceRoleKeySource: e.SUPABASE_SERVICE_ROLE_KEY
      ? { kind: 'env' }
      : { kind: 'secret', secretId: e.SUPABASE_SERVICE_ROLE_KEY_SECRET_ID as string },
    exportsBucket: e.EXPORTS_BUCKET,
    ownedPathPrefix: e.OWNED_PATH_PREFIX,
    storageUrlOrigins: e.STORAGE_URL_ORIGINS ?? [new URL(e.SUPABASE_URL).origin],
    archive: {
      enabled: e.ARCHIVE_ENABLED,
      bucket: e.ARCHIVE_BUCKET,
      prefix: e.ARCHIVE_PREFIX,
      allowUnarchivedDelete: e.ALLOW_UNARCHIVED_DELETE,
    },
    logRetentionDays: e.LOG_RETENTION_DAYS,
    fileRetentionHours: e.FILE_RETENTION_HOURS,
    fileGraceHours: e.FILE_GRACE_HOURS,
    orphanGraceHours: e.ORPHAN_GRACE_HOURS,
    deleteOrphans: e.DELETE_ORPHANS,
    maxFileAttempts: e.MAX_FILE_ATTEMPTS,
    fileClaimLeaseSeconds: e.FILE_CLAIM_LEASE_SECONDS,
    logPartLeaseSeconds: e.LOG_PART_LEASE_SECONDS,
    metricsWindowLeaseSeconds: e.METRICS_WINDOW_LEASE_SECONDS,
    metricsLagMinutes: e.METRICS_LAG_MINUTES,
    metricsNamespace: e.POWERTOOLS_METRICS_NAMESPACE,
  };
}
