import { createWriteStream } from 'node:fs';
import type { ParseArgsConfig } from 'node:util';
import { type AnyJob, JOBS } from '../lambdas/jobs';
import { createJobDeps, InputError, parseJobInput, runJob } from '../lambdas/shared/job';
import { DISCARD, routeJobOutput, type JobName } from '../lambdas/shared/observability';
import { parseCommand } from './args';
import { EXIT, exitHelp } from './exit-codes';
import { terminalProgress } from './progress';
import { readStatus } from './status';
import { summarize } from './summary';
import { loadConfig } from '../lambdas/shared/config';
import { createServiceClient, resolveServiceRoleKey } from '../lambdas/shared/supabase';

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

/** Flags every job takes: output and its routing. */
const COMMON_FLAGS: Flags = {
  json: { type: 'boolean' }, quiet: { type: 'boolean' }, 'emit-metrics': { type: 'boolean' }, 'metrics-file': { type: 'string' },
};
const OUTPUT_HELP = `output:
  (default)             a summary in words on stdout; log lines (JSON) on stderr
  --json                the result as one JSON document on stdout instead
  --quiet               no log lines
  --emit-metrics        the run's EMF documents on stderr (they reach CloudWatch only from Lambda)
  --metrics-file FILE   the run's EMF documents appended to FILE
  A real metrics-aggregate run needs one of the two: it marks hours emitted.
`;

const USAGE = `usage:\n${Object.values(CLI_JOBS).map((j) => `  ${j.usage}`).join('\n')}

Runs one job against SUPABASE_URL with SUPABASE_SERVICE_ROLE_KEY (or
SUPABASE_SERVICE_ROLE_KEY_SECRET_ID), the same code the Lambda runs.

${OUTPUT_HELP}
examples:
  npx export-ops run file-cleanup --dry-run
  npx export-ops run log-cleanup --stats --json | jq .stats
  npx export-ops run metrics-aggregate --from 2026-11-29T00:00:00Z --to 2026-11-30T00:00:00Z --metrics-file emf.ndjson

${exitHelp}`;

/**
 * A progress counter for the cleanups when stderr is a terminal, its total from the status
 * call (files due, log rows eligible); none otherwise, and none for the metrics job.
 */
async function progressFor(job: JobName) {
  if (!process.stderr.isTTY || job === 'metrics-aggregate') return undefined;
  const config = loadConfig();
  const status = await readStatus(createServiceClient(config.supabaseUrl, await resolveServiceRoleKey(config)), config, new Date());
  return job === 'file-cleanup'
    ? terminalProgress(job, 'files', status.files.due_capped ? undefined : status.files.due)
    : terminalProgress(job, 'rows', status.logs.eligible_capped ? undefined : status.logs.eligible);
}

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
  const args = parseCommand(`run ${name}`, rest, { ...job.flags, ...COMMON_FLAGS }, `usage: ${job.usage}\n\n${OUTPUT_HELP}`);
  if (typeof args === 'number') return args;
  const values = args.values;
  const def = JOBS[job.job];
  let input: unknown;
  try {
    input = parseCliInput(def, defined(job.toInput(values)));
  } catch (error) {
    if (!(error instanceof InputError)) throw error;
    process.stderr.write(`export-ops: ${error.message}\n`);
    return EXIT.usage;
  }
  const emfTo = typeof values['metrics-file'] === 'string' ? createWriteStream(values['metrics-file'], { flags: 'a' }) : values['emit-metrics'] ? process.stderr : undefined;
  if (job.job === 'metrics-aggregate' && !values['dry-run'] && !emfTo) {
    process.stderr.write('export-ops run metrics-aggregate: a real run marks each hour emitted, and from the command line its EMF reaches '
      + 'CloudWatch only if you ship it: give --metrics-file FILE (or --emit-metrics), or use --dry-run\n');
    return EXIT.usage;
  }
  routeJobOutput({ logs: values.quiet ? DISCARD : process.stderr, emf: emfTo ?? DISCARD });
  const progress = values.json ? undefined : await progressFor(job.job);
  const deps = await createJobDeps(def, { progress });
  const result = await runJob(def, deps, input);
  process.stdout.write(values.json ? `${JSON.stringify(result)}\n` : `${summarize(job.job, result as unknown as Record<string, unknown>).join('\n')}\n`);
  progress?.done();
  if (emfTo && emfTo !== process.stderr) await new Promise<void>((resolve) => (emfTo as NodeJS.WritableStream).end(() => resolve()));
  return result.more === true ? EXIT.workLeft : EXIT.done;
}
