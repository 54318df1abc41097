import { Writable } from 'node:stream';
import { type AnyJob, JOBS } from '../lambdas/jobs';
import { loadConfig } from '../lambdas/shared/config';
import { createJobDeps, runJob } from '../lambdas/shared/job';
import { DISCARD, routeJobOutput } from '../lambdas/shared/observability';
import { SETTINGS } from '../lambdas/shared/settings';
import { createServiceClient } from '../lambdas/shared/supabase';
import { seedExports } from '../local/seed';
import { startLocalStack } from '../local/stack';
import { parseCommand, wholeNumber } from './args';
import { EXIT } from './exit-codes';
import { formatStatus, readStatus } from './status';
import { humanBytes } from './summary';

const USAGE = `usage: export-ops start [--database-url URL] [--count N] [--verbose]

One day of operations on a local stack: boots it (embedded PGlite unless --database-url),
seeds exports, runs the file cleanup, the log cleanup and the metrics job in production order
through the same code as the Lambdas, then shows the status and which alarms the metrics it
emitted would set off. --verbose adds the jobs' log lines (on stderr).

examples:
  npm start
  npm start -- --count 20000 --database-url postgres://postgres@127.0.0.1:5432/postgres
`;

/** Exports seeded by `npm start`: enough to show every kind of row, quick on PGlite. */
const DEFAULT_SEED_COUNT = 2_000;

type Result = Record<string, unknown>;
const n = (v: unknown) => (typeof v === 'number' ? v : 0).toLocaleString('en-US');

/** Each job in production order, the words its schedule is said in, and its result as a sentence. */
const DAY: { def: AnyJob; when: string; tell(r: Result): string }[] = [
  {
    def: JOBS['file-cleanup'], when: 'daily',
    tell: (r) => {
      const skipped = r.skipped as unknown as { count: number; by_reason: Record<string, number> };
      const reasons = Object.entries(skipped.by_reason).map(([why, k]) => `${k} ${why}`).join(', ');
      return `deleted ${n(r.deleted_count)} expired files (${humanBytes(r.bytes_reclaimed as number)}), marked ${n(r.logs_updated)} rows expired `
        + `(${n(r.no_file_count)} had no file); skipped ${n(skipped.count)} rows it must not touch${reasons ? ` (${reasons})` : ''}`;
    },
  },
  {
    def: JOBS['log-cleanup'], when: 'monthly',
    tell: (r) => `archived ${n(r.archived_count)} old log rows to S3 in ${n(r.parts)} verified part(s) (${humanBytes(r.archive_bytes as number)}), then deleted them; `
      + `kept ${n(r.stale_count)} still queued/processing and ${n(r.waiting_for_file_count)} whose file is still stored`,
  },
  {
    def: JOBS['metrics-aggregate'], when: 'hourly',
    tell: (r) => {
      const windows = r.windows as unknown as { total: number; failed: number }[];
      const exports = windows.reduce((a, w) => a + w.total, 0);
      const failed = windows.reduce((a, w) => a + w.failed, 0);
      return `emitted ${n(r.windows_emitted)} hours of export metrics (the last 14 days): ${n(exports)} exports finished, `
        + `${exports ? ((100 * failed) / exports).toFixed(1) : '0.0'} % failed`;
    },
  },
];

interface WindowDoc { ExportsTotal?: number; ExportsFailed?: number; ExportDurationAvg?: number; window_start?: string; Format?: string }

/**
 * Which of the export alarms the emitted hours would set off, against the thresholds the stack
 * is configured with (the settings' defaults here): a preview in words; the alarms themselves
 * are CloudWatch's, checked by test/lib/alarm-evaluation.test.ts on the same documents.
 */
function alarmPreview(docs: WindowDoc[]): string[] {
  const t = {
    rate: SETTINGS.failureRateThreshold.default, min: SETTINGS.failureRateMinExports.default,
    duration: SETTINGS.avgDurationThresholdMs.default, volume: SETTINGS.volumeThreshold.default,
  };
  const hours = docs.filter((d) => d.Format === undefined && d.window_start);
  const fired: string[] = [];
  for (const d of hours) {
    const total = d.ExportsTotal ?? 0;
    const rate = total >= t.min ? (100 * (d.ExportsFailed ?? 0)) / total : 0;
    const at = (d.window_start as string).slice(0, 13).replace('T', ' ');
    if (rate > t.rate) fired.push(`FailureRate at ${at}:00 (${rate.toFixed(1)} % of ${total})`);
    if ((d.ExportDurationAvg ?? 0) > t.duration) fired.push(`AverageDuration at ${at}:00 (${Math.round(d.ExportDurationAvg ?? 0)} ms)`);
    if (total > t.volume) fired.push(`Volume at ${at}:00 (${total} exports)`);
  }
  const head = `alarms over ${hours.length} hours (failure rate > ${t.rate} % of ≥ ${t.min} exports, average duration > ${t.duration} ms, > ${t.volume} exports an hour):`;
  if (!fired.length) return [head, '  none would fire'];
  return [head, ...fired.slice(0, 3).map((f) => `  ${f}`), ...(fired.length > 3 ? [`  … and ${fired.length - 3} more`] : [])];
}

/**
 * `npm start`: the story of one day of operations, in about thirty lines.
 *
 * @example
 * process.exitCode = await main(['--count', '2000']);
 */
export async function main(argv: string[]): Promise<number> {
  const args = parseCommand('start', argv, { 'database-url': { type: 'string' }, count: { type: 'string' }, verbose: { type: 'boolean' } }, USAGE);
  if (typeof args === 'number') return args;
  const count = wholeNumber('count', args.values.count) ?? DEFAULT_SEED_COUNT;
  const say = (line = '') => process.stdout.write(`${line}\n`);
  const started = Date.now();
  const stack = await startLocalStack({ databaseUrl: args.values['database-url'] as string | undefined });
  try {
    const seeded = await seedExports({ db: stack.db, storageDir: stack.storageDir, supabaseUrl: stack.supabase.url }, { count });
    say(`export-ops: one day of operations on a local stack (${stack.db.kind === 'pglite' ? 'embedded PGlite' : 'PostgreSQL'}), ready in ${((Date.now() - started) / 1000).toFixed(1)} s`);
    say(`  Supabase API ${stack.supabase.url}, S3 ${stack.s3.endpoint}`);
    say(`  seeded ${n(seeded.rows)} exports of ${n(seeded.users)} users over 60 days, ${n(seeded.files)} files in Storage, ${n(seeded.malformed)} rows with a malformed file_url`);
    // The EMF the metrics job writes is kept here (a Lambda's would go to CloudWatch) and read back for the alarm preview.
    const emf: WindowDoc[] = [];
    const emfSink = new Writable({
      write(chunk, _encoding, done) {
        for (const line of String(chunk).split('\n').filter(Boolean)) emf.push(JSON.parse(line) as WindowDoc);
        done();
      },
    });
    routeJobOutput({ logs: args.values.verbose ? process.stderr : DISCARD, emf: emfSink });
    const env = { ...process.env, ...stack.env };
    for (const [i, { def, when, tell }] of DAY.entries()) {
      const deps = await createJobDeps(def, { env });
      const result = (await runJob(def, deps, { scheduledTime: new Date().toISOString() })) as unknown as Result;
      say();
      say(`${i + 1}. ${def.name} (${when}): ${result.more ? 'stopped with work left' : 'done'} in ${((result.duration_ms as number) / 1000).toFixed(1)} s`);
      say(`   ${tell(result)}`);
    }
    say();
    const config = loadConfig(env);
    const status = await readStatus(createServiceClient(config.supabaseUrl, stack.serviceRoleKey), config, new Date());
    // The status screen without the per-job block (just told above): the verdict and what waits.
    const screen = formatStatus(status);
    say(screen[0]);
    say(screen.slice(screen.indexOf('waiting')).join('\n'));
    say();
    for (const line of alarmPreview(emf)) say(line);
    say();
    say('next: `npx export-ops --help`, `npm test`, and the README for deploying the stack');
    return EXIT.done;
  } finally {
    await stack.stop();
  }
}
