import { Stack, TimeZone } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import * as scheduler from 'aws-cdk-lib/aws-scheduler';
import { loadConfig, type ExportOpsConfig } from '../../lambdas/shared/config';
import { wholeNumber, type Setting, type SettingsTable } from '../../lambdas/shared/setting-kinds';
import { SETTINGS } from '../../lambdas/shared/settings';
import { resolveConfig } from '../../lib/config';
import { ScheduledJob } from '../../lib/scheduled-job';
import { contextTable, environmentTable } from '../../lib/settings-docs';
import { FIXTURE_ENTRY, testApp } from './helpers';

const TABLE: SettingsTable = SETTINGS;
const minimalEnv = { SUPABASE_URL: 'https://abc.supabase.co', SUPABASE_SERVICE_ROLE_KEY: 'k' };

describe('a setting added to the table, and nowhere else', () => {
  // The one edit: a new entry. Everything below is derived from the table passed in.
  const probe: Setting<number> = {
    env: 'PROBE_WINDOW_MINUTES', context: true, jobs: ['metrics-aggregate'],
    ...wholeNumber({ min: 1, max: 60 }), default: 5,
    doc: 'a setting that exists only in this test',
  };
  const table: SettingsTable = { ...SETTINGS, probeWindowMinutes: probe };

  test("the functions' config reads it, with its default and its bounds", () => {
    const config = (env: Record<string, string>) => loadConfig({ ...minimalEnv, ...env }, table) as unknown as Record<string, unknown>;
    expect(config({ PROBE_WINDOW_MINUTES: '7' }).probeWindowMinutes).toBe(7);
    expect(config({}).probeWindowMinutes).toBe(5);
    expect(() => config({ PROBE_WINDOW_MINUTES: '61' })).toThrow(/PROBE_WINDOW_MINUTES must be at most 60 \(got "61"\)/);
  });

  test('the stack reads its context key, checks it the same way, and puts it into the environment of its job only', () => {
    const app = testApp({ supabaseUrl: 'https://abc.supabase.co', probeWindowMinutes: '9' });
    const stack = new Stack(app, 'Probe', { env: { account: '123456789012', region: 'eu-west-1' } });
    const config = resolveConfig(stack, {}, table);
    expect((config as unknown as Record<string, unknown>).probeWindowMinutes).toBe(9);
    expect(() => resolveConfig(stack, { probeWindowMinutes: 0 } as object, table)).toThrow(/'probeWindowMinutes'.*at least 1/);

    const job = (jobName: string) => new ScheduledJob(stack, jobName, {
      jobName,
      entry: FIXTURE_ENTRY,
      schedule: scheduler.ScheduleExpression.expression('cron(0 * * * ? *)', TimeZone.of('UTC')),
      settings: config,
      settingsTable: table,
    });
    job('metrics-aggregate');
    job('file-cleanup');
    const functions = Object.values(Template.fromStack(stack).findResources('AWS::Lambda::Function'))
      .map((f) => f.Properties.Environment.Variables as Record<string, string>);
    const envOf = (name: string) => functions.find((vars) => vars.POWERTOOLS_SERVICE_NAME === name) as Record<string, string>;
    expect(envOf('metrics-aggregate').PROBE_WINDOW_MINUTES).toBe('9');
    expect(envOf('file-cleanup')).not.toHaveProperty('PROBE_WINDOW_MINUTES');
    // And the function reads back what the stack wrote.
    expect((loadConfig({ ...minimalEnv, ...envOf('metrics-aggregate') }, table) as unknown as Record<string, unknown>).probeWindowMinutes).toBe(9);
  });

  test('both docs tables have its row, with its default, bounds and meaning', () => {
    const row = (markdown: string, first: string) => markdown.split('\n').find((line) => line.startsWith(`| ${first} |`));
    expect(row(environmentTable(table), '`PROBE_WINDOW_MINUTES`')).toBe(
      '| `PROBE_WINDOW_MINUTES` | `5` | whole number 1–60 | metrics-aggregate | context `probeWindowMinutes` | a setting that exists only in this test |');
    expect(row(contextTable(table), '`probeWindowMinutes`')).toBe(
      '| `probeWindowMinutes` | `5` | whole number 1–60 | `PROBE_WINDOW_MINUTES` (metrics-aggregate) | a setting that exists only in this test |');
    // Not in the tables of the real table.
    expect(environmentTable()).not.toContain('PROBE_WINDOW_MINUTES');
  });
});

describe('the settings table', () => {
  const entries = Object.entries(TABLE);

  test.each(entries.filter(([, s]) => s.default !== undefined))('%s: its default obeys its own rule, and survives the trip through an environment variable', (_, s) => {
    expect(s.schema.parse(s.default)).toEqual(s.default);
    const asEnv = s.toEnv ? s.toEnv(s.default) : String(s.default);
    expect(s.schema.parse(asEnv)).toEqual(s.default);
  });

  test('each entry is read somewhere, and names are unambiguous', () => {
    for (const [name, s] of entries) {
      expect({ name, readSomewhere: s.env !== undefined || s.context === true }).toEqual({ name, readSomewhere: true });
      // A value the stack fills in itself is a function variable, and not also a context key.
      if (s.setByStack) expect({ name, env: !!s.env, context: !!s.context }).toEqual({ name, env: true, context: false });
    }
    const envs = entries.flatMap(([, s]) => (s.env ? [s.env] : []));
    expect(new Set(envs).size).toBe(envs.length);
  });

  // The stack and the functions used to disagree (whole hours at synth, fractions in Lambda).
  // Now both run the same schema; this checks that they also agree on what a value means.
  const shared = entries.filter(([, s]) => s.env !== undefined && s.context);
  const samples = ['1.5', '0', '-1', '3601', 'true', 'maybe', '{user_id}/x', 'https://files.example.com', 'exports'];
  test.each(shared)('%s: the stack and the functions accept the same values, with the same result', (name, s) => {
    for (const value of samples) {
      const lambda = attempt(() => fromConfig(name, loadConfig({ ...minimalEnv, [s.env as string]: value })));
      const stack = attempt(() => (resolveConfig(testApp({ supabaseUrl: 'https://abc.supabase.co', [name]: value })) as unknown as Record<string, unknown>)[name]);
      expect({ value, result: stack }).toEqual({ value, result: lambda });
    }
  });
});

/** A setting's value in the functions' config, where a few are combined into `archive`. */
function fromConfig(name: string, config: ExportOpsConfig): unknown {
  const combined: Record<string, unknown> = {
    archiveEnabled: config.archive.enabled, allowUnarchivedDelete: config.archive.allowUnarchivedDelete, archivePrefix: config.archive.prefix,
  };
  return name in combined ? combined[name] : (config as unknown as Record<string, unknown>)[name];
}

function attempt(fn: () => unknown): { ok: boolean; value?: unknown } {
  try {
    return { ok: true, value: fn() };
  } catch {
    return { ok: false };
  }
}
