import { z } from 'zod';

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

const schema = z.object({
    SUPABASE_URL: z.url({ protocol: /^https?$/, error: 'must be an http(s) URL such as https://<project>.supabase.co' }),
    SUPABASE_SERVICE_ROLE_KEY: optionalText,
    SUPABASE_SERVICE_ROLE_KEY_SECRET_ID: optionalText,
    EXPORTS_BUCKET: z.string().trim().min(1).default('exports'),
    ARCHIVE_BUCKET: optionalText,
    ARCHIVE_PREFIX: z.string().trim().default('export-logs').transform((p) => p.replace(/^\/+|\/+$/g, '')),
    ARCHIVE_ENABLED: flag(true),
    ALLOW_UNARCHIVED_DELETE: flag(false),
    LOG_RETENTION_DAYS: positiveInt(30),
    FILE_RETENTION_HOURS: positiveInt(24),
    FILE_GRACE_HOURS: nonNegative(0),
    ORPHAN_GRACE_HOURS: nonNegative(48),
    DELETE_ORPHANS: flag(false),
    MAX_FILE_ATTEMPTS: positiveInt(5),
    FILE_CLAIM_LEASE_SECONDS: positiveInt(900),
    METRICS_LAG_MINUTES: nonNegative(15),
    POWERTOOLS_METRICS_NAMESPACE: z.string().trim().min(1).default('ExportOps'),
});

export interface ExportOpsConfig {
  supabaseUrl: string;
  /** Where the service-role key comes from; the key itself is never kept in this object. */
  serviceRoleKeySource: { kind: 'env' } | { kind: 'secret'; secretId: string };
  exportsBucket: string;
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
    metricsLagMinutes: e.METRICS_LAG_MINUTES,
    metricsNamespace: e.POWERTOOLS_METRICS_NAMESPACE,
  };
}
