/**
 * A log cleanup run in a process of its own, so a test can kill it at a chosen point (the
 * stack's fault hook freezes the request there). Arguments: partRows pageRows leaseSeconds
 * scheduledTime; the stack's variables come through the environment.
 */
import { createLogCleanupJob } from '../../../lambdas/log-cleanup/job';
import { createJobDeps, runJob } from '../../../lambdas/shared/job';

const [partRows, pageRows, partLeaseSeconds, scheduledTime] = process.argv.slice(2);
(async () => {
  const job = createLogCleanupJob({ partRows: Number(partRows), pageRows: Number(pageRows), partLeaseSeconds: Number(partLeaseSeconds) });
  const result = await runJob(job, await createJobDeps(job), { scheduledTime });
  process.stdout.write(`${JSON.stringify({ result })}\n`);
})().catch((error: unknown) => {
  process.stderr.write(`${error instanceof Error ? error.stack : String(error)}\n`);
  process.exitCode = 1;
});
