import { parseArgs } from 'node:util';
import { formatReport, STORM_JOBS, stormJob, type StormJob } from './storm';

/**
 * `npm run storm [-- job] [-- --kills N] [-- --seed S]`: the crash storm (see ./storm.ts and
 * the README's "Crash storm"). Exits 1 on anything lost or doubled, a failed rerun, or any
 * problem a check found.
 */
export async function main(argv: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      kills: { type: 'string' },
      seed: { type: 'string' },
      size: { type: 'string' },
      'max-attempts': { type: 'string' },
      'database-url': { type: 'string' },
      broken: { type: 'string' },
      quiet: { type: 'boolean' },
    },
  });
  const jobs = positionals.length ? positionals : [...STORM_JOBS];
  for (const job of jobs) if (!STORM_JOBS.includes(job as StormJob)) throw new Error(`unknown job "${job}" (have: ${STORM_JOBS.join(', ')})`);
  if (values.broken !== undefined && values.broken !== 'mark-before-remove') throw new Error('--broken takes mark-before-remove');
  let failed = false;
  for (const job of jobs as StormJob[]) {
    const report = await stormJob(job, {
      serverUrl: values['database-url'] ?? process.env.DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres',
      kills: Number(values.kills ?? 100),
      seed: Number(values.seed ?? Date.now() % 1_000_000),
      size: values.size ? Number(values.size) : undefined,
      maxAttempts: values['max-attempts'] ? Number(values['max-attempts']) : undefined,
      broken: values.broken as 'mark-before-remove' | undefined,
      log: values.quiet ? undefined : (line) => process.stderr.write(`${line}\n`),
    });
    process.stdout.write(formatReport(report));
    failed ||= !report.ok;
  }
  return failed ? 1 : 0;
}
