import { ConfigError, readSettings } from './read-settings';
import type { SettingNames, SettingValues, SettingsTable } from './setting-kinds';
import { SETTINGS, type Settings } from './settings';

/**
 * All of export-ops' configuration, read from the environment in this one place: every
 * setting of the table (`settings.ts`) that has an environment variable, checked by its schema.
 * Bad values fail at start-up with every problem named by its variable.
 */

/** Every setting's default, by name; e.g. the log cleanup's fallback lease. */
export const JOB_DEFAULTS = Object.fromEntries(
  Object.entries(SETTINGS).filter(([, s]) => 'default' in s).map(([name, s]) => [name, (s as { default: unknown }).default]),
) as { [K in SettingNames<Settings, { default: unknown }>]: Settings[K] extends { default: infer D } ? D : never };

type EnvValues = SettingValues<Settings, SettingNames<Settings, { env: string }>>;

/** Settings the config below does not pass on flat: they are combined into the fields that replace them. */
type Combined = 'supabaseServiceRoleKey' | 'serviceRoleKeySecretId' | 'storageUrlOrigins'
  | 'archiveBucket' | 'archivePrefix' | 'archiveEnabled' | 'allowUnarchivedDelete';

/** Every environment setting by its name (e.g. `fileGraceHours`), plus the combined fields. */
export type ExportOpsConfig = Omit<EnvValues, Combined> & {
  /** Where the service-role key comes from; the key itself is never kept in this object. */
  serviceRoleKeySource: { kind: 'env' } | { kind: 'secret'; secretId: string };
  /** Origins (scheme://host[:port]) of Storage URLs the file cleanup trusts: the project's own by default. */
  storageUrlOrigins: string[];
  archive: {
    enabled: boolean;
    /** Required when enabled (checked by the log cleanup job, which is the only user). */
    bucket?: string;
    prefix: string;
    /** With archival off, rows are deleted unarchived only when this is true. */
    allowUnarchivedDelete: boolean;
  };
};

/**
 * Reads and checks the configuration. `table` is for tests that add a setting; a setting it adds
 * appears in the result under its name.
 *
 * @example
 * const config = loadConfig(); // throws ConfigError naming each bad variable
 */
export function loadConfig(env: NodeJS.ProcessEnv = process.env, table: SettingsTable = SETTINGS): ExportOpsConfig {
  const { values, problems: refused } = readSettings(table, (s) => s.env !== undefined, (s) => env[s.env as string]);
  const problems = refused.map(({ setting, message, value }) =>
    `${setting.env} ${message}${value === undefined || setting.secret ? '' : ` (got "${String(value)}")`}`);
  const e = values as EnvValues & Record<string, unknown>;
  if (e.supabaseServiceRoleKey === undefined && e.serviceRoleKeySecretId === undefined) {
    problems.push('SUPABASE_SERVICE_ROLE_KEY is required (or SUPABASE_SERVICE_ROLE_KEY_SECRET_ID naming a Secrets Manager secret)');
  }
  if (problems.length) throw new ConfigError(problems);
  const {
    supabaseServiceRoleKey, serviceRoleKeySecretId, storageUrlOrigins,
    archiveBucket, archivePrefix, archiveEnabled, allowUnarchivedDelete, ...flat
  } = e;
  return {
    ...flat,
    serviceRoleKeySource: supabaseServiceRoleKey !== undefined
      ? { kind: 'env' }
      : { kind: 'secret', secretId: serviceRoleKeySecretId as string },
    storageUrlOrigins: storageUrlOrigins ?? [new URL(e.supabaseUrl).origin],
    archive: { enabled: archiveEnabled, bucket: archiveBucket, prefix: archivePrefix, allowUnarchivedDelete },
  };
}
