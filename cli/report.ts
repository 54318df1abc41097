import { parseArgs } from 'node:util';
import { Logger } from '@aws-lambda-powertools/logger';
import * as z from 'zod';
import { notAheadDateTime } from '../lambdas/shared/clock';
import { loadConfig } from '../lambdas/shared/config';
import { SERVICE_NAME } from '../lambdas/shared/observability';
import { createServiceClient, resolveServiceRoleKey } from '../lambdas/shared/supabase';
import { EXIT, exitHelp } from './exit-codes';
import { aggregateMetrics, checkFailureRate, getExportVolume, MAX_LOOKBACK_MINUTES, MAX_VOLUME_DAYS } from '../reports/queries';

const USAGE = `usage: export-ops report failure-rate [--lookback-minutes N] [--now ISO] [--json]
       export-ops report volume [--period hourly|daily] [--days N] [--now ISO] [--json]
       export-ops report aggregate --from ISO --to ISO [--json]

Answers a question about export outcomes from SQL; reads only, records nothing.
  failure-rate  share of exports finished in the last N minutes (default 60) that failed;
                "null" when none finished
  volume        exports requested per hour or day (default daily) over the last N days (default 7)
  aggregate     every outcome figure (counts, rates, durations and sizes by format, top users,
                error kinds) over [from, to)

examples:
  npx export-ops report failure-rate --lookback-minutes 120
  npx export-ops report volume --period hourly --days 2 --json
  npx export-ops report aggregate --from 2026-11-01T00:00:00Z --to 2026-11-02T00:00:00Z

${exitHelp}`;

const whole = (name: string, max: number) =>
  z.coerce.number({ error: `--${name} must be a number` }).int(`--${name} must be a whole number`).min(1, `--${name} must be at least 1`).max(max, `--${name} must be at most ${max}`);
const when = (name: string) => notAheadDateTime(`--${name}`, `--${name} must be an ISO 8601 date-time such as 2026-11-01T00:00:00Z`);

/** Each report's flags, checked before anything connects. */
const REPORTS = {
  'failure-rate': z.strictObject({ 'lookback-minutes': whole('lookback-minutes', MAX_LOOKBACK_MINUTES).default(60), now: when('now').optional() }),
  volume: z.strictObject({ period: z.enum(['hourly', 'daily'], { error: '--period must be hourly or daily' }).default('daily'), days: whole('days', MAX_VOLUME_DAYS).default(7), now: when('now').optional() }),
  aggregate: z.strictObject({ from: when('from'), to: when('to') })
    .refine((v) => Date.parse(v.to) > Date.parse(v.from), { message: '--to must be after --from', path: ['to'] }),
} as const;
type ReportName = keyof typeof REPORTS;
/** Every report's flags; a flag of another report is refused by that report's schema. */
const FLAGS = {
  'lookback-minutes': { type: 'string' }, now: { type: 'string' }, period: { type: 'string' }, days: { type: 'string' },
  from: { type: 'string' }, to: { type: 'string' }, json: { type: 'boolean' }, help: { type: 'boolean', short: 'h' },
} as const;

/**
 * `export-ops report <name>`: one of the outcome reports, as readable JSON (or one line with --json).
 *
 * @example
 * await main(['failure-rate', '--lookback-minutes', '120']);
 */
export async function main(argv: string[]): Promise<number> {
  const [name, ...rest] = argv;
  if (!name || name === '--help' || name === '-h') {
    (name ? process.stdout : process.stderr).write(USAGE);
    return name ? EXIT.done : EXIT.usage;
  }
  if (!(name in REPORTS)) {
    process.stderr.write(`unknown report "${name}" (have: ${Object.keys(REPORTS).join(', ')})\n\n${USAGE}`);
    return EXIT.usage;
  }
  let values: Record<string, string | boolean | undefined>;
  try {
    ({ values } = parseArgs({ args: rest, options: FLAGS }));
  } catch (error) {
    process.stderr.write(`export-ops report ${name}: ${(error as Error).message}\n\n${USAGE}`);
    return EXIT.usage;
  }
  if (values.help) {
    process.stdout.write(USAGE);
    return EXIT.done;
  }
  const { json: _json, help: _help, ...flags } = values;
  const parsed = REPORTS[name as ReportName].safeParse(flags);
  if (!parsed.success) {
    process.stderr.write(`export-ops report ${name}: ${parsed.error.issues.map((i) => i.message).join('; ')}\n`);
    return EXIT.usage;
  }
  const config = loadConfig();
  const supabase = createServiceClient(config.supabaseUrl, await resolveServiceRoleKey(config));
  const input = parsed.data as Record<string, string | number | undefined>;
  const now = input.now ? new Date(input.now as string) : new Date();
  let answer: unknown;
  switch (name as ReportName) {
    case 'failure-rate':
      answer = await checkFailureRate(supabase, new Logger({ serviceName: SERVICE_NAME, logLevel: 'WARN' }), input['lookback-minutes'] as number, now);
      break;
    case 'volume':
      answer = await getExportVolume(supabase, input.period as 'hourly' | 'daily', input.days as number, now);
      break;
    case 'aggregate':
      answer = await aggregateMetrics(supabase, new Date(input.from as string), new Date(input.to as string));
      break;
  }
  process.stdout.write(values.json ? `${JSON.stringify(answer)}\n` : `${JSON.stringify(answer, null, 2)}\n`);
  return EXIT.done;
}
