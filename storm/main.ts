import { parseCommand, wholeNumber } from '../cli/args';
import { EXIT } from '../cli/exit-codes';
import { formatReport, STORM_JOBS, stormJob, type StormJob } from './storm';

const USAGE = `usage: export-ops storm [file-cleanup|log-cleanup|metrics-aggregate ...] [--kills N] [--seed S] [--size N] [--quiet]

The crash storm: runs each job (or those named) as a child process on a scratch database of a
PostgreSQL server (--database-url, else DATABASE_URL, else the machine's 127.0.0.1:5432),
SIGKILLs it at random times until N kills (default 100) landed mid-work, reruns it after each
kill and checks nothing was lost or doubled. Progress on stderr unless --quiet. Exits 1 when
anything was lost or doubled, a rerun failed, or a check found a problem.

examples:
  npm run storm -- file-cleanup --kills 20 --seed 7
  npm run storm -- --kills 10 --seed 11 --quiet
`;

/**
 * `npm run storm [-- job] [-- --kills N] [-- --seed S]`: the crash storm (see ./storm.ts and
 * the README's "Crash storm"). Exits 1 on anything lost or doubled, a failed rerun, or any
 * problem a check found.
 */
export async function main(argv: string[]): Promise<number> {
  const args = parseCommand('storm', argv, {
    kills: { type: 'string' },
    seed: { type: 'string' },
    size: { type: 'string' },
    'max-attempts': { type: 'string' },
    'database-url': { type: 'string' },
    broken: { type: 'string' },
    quiet: { type: 'boolean' },
  }, USAGE, true);
  if (typeof args === 'number') return args;
  const { positionals } = args;
  const values = args.values as Record<string, string | boolean | undefined>;
  const jobs = positionals.length ? positionals : [...STORM_JOBS];
  const unknown = jobs.find((job) => !STORM_JOBS.includes(job as StormJob));
  if (unknown !== undefined || (values.broken !== undefined && values.broken !== 'mark-before-remove')) {
    process.stderr.write(unknown !== undefined ? `export-ops storm: unknown job "${unknown}" (have: ${STORM_JOBS.join(', ')})\n` : 'export-ops storm: --broken takes mark-before-remove\n');
    return EXIT.usage;
  }
  let failed = false;
  for (const job of jobs as StormJob[]) {
    const report = await stormJob(job, {
      serverUrl: (values['database-url'] as string | undefined) ?? process.env.DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres',
      kills: wholeNumber('kills', values.kills) ?? 100,
      seed: wholeNumber('seed', values.seed) ?? Date.now() % 1_000_000,
      size: wholeNumber('size', values.size),
      maxAttempts: wholeNumber('max-attempts', values['max-attempts']),
      broken: values.broken as 'mark-before-remove' | undefined,
      log: values.quiet ? undefined : (line) => process.stderr.write(`${line}\n`),
    });
    process.stdout.write(formatReport(report));
    failed ||= !report.ok;
  }
  return failed ? EXIT.failed : EXIT.done;
}
