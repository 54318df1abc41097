import { parseArgs, type ParseArgsConfig } from 'node:util';
import { type AnyJob, JOBS } from '../lambdas/jobs';
import { createJobDeps, InputError, parseJobInput, runJob } from '../lambdas/shared/job';
import type { JobName } from '../lambdas/shared/observability';
import { EXIT, exitHelp } from './exit-codes';
import { summarize } from './summary';

type Flags = NonNullable<ParseArgsConfig['options']>;
type Values = Record<string, string | boolean | undefined>;

interface CliJob {
  usage: string;
  flags: Flags;
  /** Turns flags into the same input object the Lambda receives (then checked by the job's schema). */
  toInput(values: Values): Record<string, unknown>;
  /** Which job of the registry runs. */
  job: JobName;
}

const optionalNumber = (value: unknown) => (value === undefined ? undefined : Number(value));

/** One entry per job; each maps its flags onto the job's input schema. */
const CLI_JOBS: Record<string, CliJob> = {
  'metrics-aggregate': {
    usage: 'export-ops run metrics-aggregate [--from ISO --to ISO] [--dry-run] [--now ISO] [--json]',
    flags: { from: { type: 'string' }, to: { type: 'string' }, 'dry-run': { type: 'boolean' }, now: { type: 'string' } },
    toInput: (v) => ({ from: v.from, to: v.to, dryRun: v['dry-run'], scheduledTime: v.now }),
    job: 'metrics-aggregate',
  },
  'file-cleanup': {
    usage: 'export-ops run file-cleanup [--dry-run] [--now ISO] [--max-files N] [--json]',
    flags: { 'dry-run': { type: 'boolean' }, now: { type: 'string' }, 'max-files': { type: 'string' } },
    toInput: (v) => ({ dryRun: v['dry-run'], scheduledTime: v.now, maxFiles: optionalNumber(v['max-files']) }),
    job: 'file-cleanup',
  },
  'log-cleanup': {
    usage: 'export-ops run log-cleanup [--dry-run] [--stats] [--user ID] [--now ISO] [--json]',
    flags: { 'dry-run': { type: 'boolean' }, stats: { type: 'boolean' }, user: { type: 'string' }, now: { type: 'string' } },
    toInput: (v) => ({ dryRun: v['dry-run'], statsOnly: v.stats, userId: v.user, scheduledTime: v.now }),
    job: 'log-cleanup',
  },
};

const USAGE = `usage:\n${Object.values(CLI_JOBS).map((j) => `  ${j.usage}`).join('\n')}

Runs one job against SUPABASE_URL with SUPABASE_SERVICE_ROLE_KEY (or
SUPABASE_SERVICE_ROLE_KEY_SECRET_ID), the same code the Lambda runs. Prints a summary in
words, or the result as one JSON document with --json.

examples:
  npx export-ops run file-cleanup --dry-run
  npx export-ops run log-cleanup --stats
  npx export-ops run metrics-aggregate --from 2026-11-29T00:00:00Z --to 2026-11-30T00:00:00Z --json

${exitHelp}`;

/** Drops unset flags so the job's schema sees only what was given. */
const defined = (input: Record<string, unknown>) => Object.fromEntries(Object.entries(input).filter(([, v]) => v !== undefined));

/**
 * The job's schema check, with the input's `scheduledTime` named as the flag that set it (`--now`):
 * a refusal (a bad date, a time too far ahead of the clock) happens before anything connects.
 */
function parseCliInput(def: AnyJob, input: Record<string, unknown>): unknown {
  try {
    return parseJobInput(def, input);
  } catch (error) {
    if (error instanceof InputError) throw new InputError(error.message.replace(/\bscheduledTime\b/g, '--now'));
    throw error;
  }
}

/**
 * `export-ops run <job>`: one job run from the command line.
 *
 * @example
 * process.exitCode = await main(['file-cleanup', '--dry-run']);
 */
export async function main(argv: string[]): Promise<number> {
  const [name, ...rest] = argv;
  const job = name ? CLI_JOBS[name] : undefined;
  if (!job) {
    const help = name === '--help' || name === '-h';
    (help ? process.stdout : process.stderr).write(help || !name ? USAGE : `unknown job "${name}" (have: ${Object.keys(CLI_JOBS).join(', ')})\n\n${USAGE}`);
    return help ? EXIT.done : EXIT.usage;
  }
  let values: Values;
  try {
    ({ values } = parseArgs({ args: rest, options: { ...job.flags, json: { type: 'boolean' }, help: { type: 'boolean', short: 'h' } } }));
  } catch (error) {
    process.stderr.write(`export-ops run ${name}: ${(error as Error).message}\n\nusage: ${job.usage}\n`);
    return EXIT.usage;
  }
  if (values.help) {
    process.stdout.write(`usage: ${job.usage}\n\n${exitHelp}`);
    return EXIT.done;
  }
  const def = JOBS[job.job];
  let input: unknown;
  try {
    input = parseCliInput(def, defined(job.toInput(values)));
  } catch (error) {
    if (!(error instanceof InputError)) throw error;
    process.stderr.write(`export-ops: ${error.message}\n`);
    return EXIT.usage;
  }
  const deps = await createJobDeps(def);
  const result = await runJob(def, deps, input);
  process.stdout.write(values.json ? `${JSON.stringify(result)}\n` : `${summarize(job.job, result as unknown as Record<string, unknown>).join('\n')}\n`);
  return result.more === true ? EXIT.workLeft : EXIT.done;
}
