/**
 * Child-process entry of the crash storm: runs one job against the stack named by the
 * environment and prints `{"result": …}` as its last line. The storm SIGKILLs it at random.
 *
 * Variables read only here (never by production code):
 *   STORM_LOG_PART_ROWS, STORM_LOG_PAGE_ROWS  small log-cleanup parts, so a run has several
 *   STORM_BROKEN=mark-before-remove           the control: a file cleanup that marks rows
 *                                             expired BEFORE removing their files (a bug the
 *                                             storm must catch)
 */
import { JOBS } from '../lambdas/jobs';
import { createLogCleanupJob } from '../lambdas/log-cleanup/job';
import type { AnyJob } from '../lambdas/jobs';
import { createJobDeps, runJob } from '../lambdas/shared/job';

async function main(): Promise<void> {
  const [name, inputJson] = process.argv.slice(2);
  let def: AnyJob | undefined = JOBS[name as keyof typeof JOBS];
  if (!def) throw new Error(`unknown job "${name}"`);
  if (name === 'log-cleanup' && process.env.STORM_LOG_PART_ROWS) {
    def = createLogCleanupJob({
      partRows: Number(process.env.STORM_LOG_PART_ROWS),
      pageRows: Number(process.env.STORM_LOG_PAGE_ROWS ?? process.env.STORM_LOG_PART_ROWS),
    });
  }
  if (name === 'file-cleanup' && process.env.STORM_BROKEN === 'mark-before-remove') {
    def = (await import('./broken-file-cleanup')).brokenFileCleanupJob;
  }
  const deps = await createJobDeps(def);
  const result = await runJob(def, deps, JSON.parse(inputJson ?? '{}'));
  process.stdout.write(`\n${JSON.stringify({ result })}\n`);
}

main().catch((error) => {
  process.stderr.write(`${error instanceof Error ? error.stack : String(error)}\n`);
  process.exit(1);
});
