import { parseArgs, type ParseArgsConfig } from 'node:util';
import { type AnyJob, JOBS } from '../lambdas/jobs';
import { createJobDeps, InputError, parseJobInput, runJob } from '../lambdas/shared/job';
import type { JobName } from '../lambdas/shared/observability';

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

const USAGE = `usage:\n${Object.values(CLI_JOBS).map((j) => `  ${j.usage}`).join('\n')}\n`;

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

export async function main(argv: string[]): Promise<number> {
  const [name, ...rest] = argv;
  const job = name ? CLI_JOBS[name] : undefined;
  if (!job) {
    process.stderr.write(name && name !== '--help' ? `unknown job "${name}"\n${USAGE}` : USAGE);
    return name && name !== '--help' ? 2 : 0;
  }
  const { values } = parseArgs({ args: rest, options: { ...job.flags, json: { type: 'boolean' }, help: { type: 'boolean', short: 'h' } } });
  if (values.help) {
    process.stdout.write(`usage: ${job.usage}\n`);
    return 0;
  }
  const def = JOBS[job.job];
  const input = parseCliInput(def, defined(job.toInput(values)));
  const deps = await createJobDeps(def);
  const result = await runJob(def, deps, input);
  process.stdout.write(values.json ? `${JSON.stringify(result)}\n` : `${JSON.stringify(result, null, 2)}\n`);
  return 0;
}
