import { parseArgs } from 'node:util';
import { fileCleanupJob } from '../lambdas/file-cleanup/job';
import { createJobDeps, type JobDefinition, type JobResult, runJob } from '../lambdas/shared/job';
import { seedExports } from '../local/seed';
import { startLocalStack } from '../local/stack';
import { wholeNumber } from './local';

/** Exports seeded by `npm start`: enough to show every kind of row, quick on PGlite. */
const DEFAULT_SEED_COUNT = 2_000;

/** Every job, in the order a day of operations would run them. */
const JOBS: JobDefinition<{ scheduledTime?: string }, JobResult>[] = [fileCleanupJob as JobDefinition<{ scheduledTime?: string }, JobResult>];

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
    for (const job of JOBS) {
      say(`\n== ${job.name} ==`);
      const deps = await createJobDeps(job.name, { env });
      const result = await runJob(job, deps, { scheduledTime: new Date().toISOString() });
      say(JSON.stringify(result, null, 2));
    }
    return 0;
  } finally {
    await stack.stop();
  }
}
