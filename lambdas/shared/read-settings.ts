import type { Setting, SettingsTable } from './setting-kinds';

/**
 * Bad configuration, found before anything runs: every problem, one line each, named by where the
 * value came from (an environment variable for the functions and the CLI, a prop or context key
 * for the stack). One class for both sides, so a caller catches one thing.
 */
export class ConfigError extends Error {
  constructor(readonly problems: string[]) {
    super(`invalid export-ops configuration:\n  ${problems.join('\n  ')}`);
    this.name = 'ConfigError';
  }
}

/** A value a setting's schema refused (or a required one left unset). */
export interface SettingProblem {
  /** The setting's name in the table. */
  name: string;
  setting: Setting;
  message: string;
  /** What was given (`undefined` when a required setting was unset). */
  value: unknown;
}

/**
 * Reads the chosen settings of a table, each checked by its own schema, and collects every
 * problem instead of stopping at the first. The functions (from the environment) and the stack
 * (from props and context) both read through here, so they apply the same checks and defaults.
 * Unset (`undefined`, `null` or `''`, as a shell's `export X=`) means the default.
 *
 * @example
 * const { values, problems } = readSettings(SETTINGS, (s) => s.env !== undefined, (s) => process.env[s.env!]);
 */
export function readSettings(
  table: SettingsTable,
  include: (setting: Setting, name: string) => boolean,
  raw: (setting: Setting, name: string) => unknown,
): { values: Record<string, unknown>; problems: SettingProblem[] } {
  const values: Record<string, unknown> = {};
  const problems: SettingProblem[] = [];
  for (const [name, setting] of Object.entries(table)) {
    if (!include(setting, name)) continue;
    const value = raw(setting, name);
    if (value === undefined || value === null || value === '') {
      if (setting.required) {
        problems.push({ name, setting, message: `is required${setting.example ? `, e.g. ${setting.example}` : ''}`, value: undefined });
      }
      values[name] = setting.default;
      continue;
    }
    const parsed = setting.schema.safeParse(value);
    if (parsed.success) values[name] = parsed.data;
    else problems.push(...parsed.error.issues.map((issue) => ({ name, setting, message: issue.message, value })));
  }
  return { values, problems };
}
