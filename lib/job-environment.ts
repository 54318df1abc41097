import type { SettingsTable } from '../lambdas/shared/setting-kinds';
import { SETTINGS } from '../lambdas/shared/settings';

/**
 * A function's environment, derived from the settings table: every setting with an environment
 * variable that `job` uses (its `jobs`, or `'all'`) and that has a value in `values`. A setting
 * without a value is left out, so the function applies the same table's default.
 *
 * @example
 * jobEnvironment('metrics-aggregate', { metricsLagMinutes: 30, fileGraceHours: 2 })
 * // { METRICS_LAG_MINUTES: '30' }: FILE_GRACE_HOURS is the file cleanup's
 */
export function jobEnvironment(job: string, values: Readonly<Record<string, unknown>>, table: SettingsTable = SETTINGS): Record<string, string> {
  const env: Record<string, string> = {};
  for (const [name, setting] of Object.entries(table)) {
    const value = values[name];
    if (setting.env === undefined || value === undefined) continue;
    if (setting.jobs !== 'all' && !(setting.jobs as readonly string[]).includes(job)) continue;
    env[setting.env] = setting.toEnv ? setting.toEnv(value) : String(value);
  }
  return env;
}
