import { Construct } from 'constructs';
import { ConfigError, readSettings } from '../lambdas/shared/read-settings';
import type { SettingNames, SettingValue, SettingValues, SettingsTable } from '../lambdas/shared/setting-kinds';
import { SETTINGS, type Settings } from '../lambdas/shared/settings';

/** Names of the stack's settings: the table's entries with `context: true`. */
export type StackSettingName = SettingNames<Settings, { context: true }>;

/** A prop's type: the setting's value, except that a list is given as comma-separated text, as in context. */
type PropOf<T> = T extends readonly string[] ? string : T;

/**
 * Settings of the export-ops stack, one per entry of the settings table
 * (lambdas/shared/settings.ts) marked `context: true`, which documents each. Each can be given as
 * a stack prop or as a cdk.json / `-c` context value under the same camelCase key; a prop wins
 * over context. Only `supabaseUrl` is required.
 *
 * @example
 * new ExportOpsStack(app, 'ExportOps', { supabaseUrl: 'https://abc.supabase.co', fileGraceHours: 1.5 });
 */
export type ExportOpsSettings = { readonly [K in StackSettingName]?: PropOf<NonNullable<SettingValue<Settings[K]>>> };

/** The validated settings, every field with a default filled. */
export type ExportOpsConfig = SettingValues<Settings, StackSettingName>;

/** The stack settings' defaults, from the settings table. */
export const DEFAULTS = Object.fromEntries(Object.entries(SETTINGS)
  .filter(([, s]) => 'context' in s && 'default' in s)
  .map(([name, s]) => [name, (s as { default: unknown }).default])) as Omit<ExportOpsConfig, 'supabaseUrl' | 'serviceRoleKeySecret' | 'storageUrlOrigins' | 'alarmEmail'>;

/** One bad stack setting's line of the ConfigError: the key, where it is set, the problem and the value. */
function problemLine(key: string, problem: string, value: unknown): string {
  return `Invalid export-ops setting '${key}' (stack prop or context -c ${key}=...): ${problem}; got ${JSON.stringify(value)}`;
}

/**
 * Merges props, context and defaults, and validates the result with the same schema per setting
 * as the functions use (context values from the CLI arrive as strings and are parsed here).
 * `table` is for tests that add a setting; a setting it adds appears in the result under its name.
 *
 * @example
 * const config = resolveConfig(stack, { supabaseUrl: 'https://abc.supabase.co' }); // throws ConfigError naming every bad key
 */
export function resolveConfig(scope: Construct, props: ExportOpsSettings = {}, table: SettingsTable = SETTINGS): ExportOpsConfig {
  const { values, problems } = readSettings(table, (s) => s.context === true, (_, name) => {
    const fromProps = (props as Record<string, unknown>)[name];
    return fromProps !== undefined ? fromProps : scope.node.tryGetContext(name);
  });
  const lines = problems.map(({ name, message, value }) => problemLine(name, message, value));
  if (lines.length) throw new ConfigError(lines);
  const config = values as ExportOpsConfig;
  // Rules across settings, which a setting's own schema cannot check.
  if (config.archiveExpirationDays > 0 && config.archiveExpirationDays <= config.archiveTransitionDays) {
    throw new ConfigError([problemLine('archiveExpirationDays',
      `must be 0 (never) or greater than archiveTransitionDays (${config.archiveTransitionDays})`, config.archiveExpirationDays)]);
  }
  return config;
}
