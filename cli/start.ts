import { parseArgs } from 'node:util';
import { type AnyJob, JOBS } from '../lambdas/jobs';
import { createJobDeps, runJob } from '../lambdas/shared/job';
import { seedExports } from '../local/seed';
import { startLocalStack } from '../local/stack';
import { wholeNumber } from './local';

/** Exports seeded by `npm start`: enough to show every kind of row, quick on PGlite. */
const DEFAULT_SEED_COUNT = 2_000;

const HOUR_MS = 3_600_000;
/** The metrics job's default lag: the last hour it may aggregate closed this long ago. */
const METRICS_LAG_MS = 15 * 60_000;
/** Hours the metrics job emits at start (a full 14-day backfill would print 1,680 EMF lines). */
const METRICS_HOURS = 3;

/** Every job, in the order a day of operations would run them, with the input `npm start` gives it. */
const DAY_OF_JOBS: { def: AnyJob; input(now: Date): Record<string, unknown> }[] = [
  { def: JOBS['file-cleanup'], input: (now) => ({ scheduledTime: now.toISOString() }) },
  { def: JOBS['log-cleanup'], input: (now) => ({ scheduledTime: now.toISOString() }) },
  {
    def: JOBS['metrics-aggregate'],
    input: (now) => {
      const to = Math.floor((now.getTime() - METRICS_LAG_MS) / HOUR_MS) * HOUR_MS;
      return { scheduledTime: now.toISOString(), from: new Date(to - METRICS_HOURS * HOUR_MS).toISOString(), to: new Date(to).toISOString() };
    },
  },
];

/**
 * `npm start`: boots the local stack (embedded PGlite unless --database-url), seeds it, runs each
 * job once through the same code path as the Lambda handler, prints the results, and stops.
 */
export async function main(argv: string[]): Promise<number> {
  const { values } = parseArgs({ args: argv, options: { 'database-url': { type: 'string' }, count: { type: 'string' } } });
  const count = wholeNumber('count', values.count) ?? DEFAULT_SEED_COUNT;
  const started = Date.now();
  const stack = await startLocalStack({ databaseUrl: values['database-url'] });
  try {
    const say = (line: string) => process.stdout.write(`${line}\n`);
    say(`local stack on ${stack.db.kind}: Supabase ${stack.supabase.url}, S3 ${stack.s3.endpoint} (${Date.now() - started} ms)`);
    const seeded = await seedExports({ db: stack.db, storageDir: stack.storageDir, supabaseUrl: stack.supabase.url }, { count });
    say(`seeded: ${JSON.stringify(seeded)}`);
    const env = { ...process.env, ...stack.env };
    for (const { def, input } of DAY_OF_JOBS) {
      say(`\n== ${def.name} ==`);
      const deps = await createJobDeps(def, { env });
      const result = await runJob(def, deps, input(new Date()));
      say(JSON.stringify(result, null, 2));
    }
    return 0;
  } finally {
    await stack.stop();
  }
}
