/**
 * One Lambda invocation in a process of its own, so a test can kill it mid-batch as Lambda's
 * runtime dies (the stack's fault hook freezes the request there). Arguments: handler file,
 * event JSON, budget ms; the stack's variables come through the environment. Prints the result.
 */
import { DEADLINE_MARGIN_MS } from '../../../lambdas/shared/job';

const [handlerFile, eventJson, budgetMs] = process.argv.slice(2);
(async () => {
  const { handler } = await import(handlerFile);
  const started = Date.now();
  const context = { getRemainingTimeInMillis: () => Number(budgetMs) + DEADLINE_MARGIN_MS - (Date.now() - started) };
  const result = await handler(JSON.parse(eventJson), context);
  process.stdout.write(`${JSON.stringify({ result })}\n`);
})().catch((error: unknown) => {
  process.stderr.write(`${error instanceof Error ? error.stack : String(error)}\n`);
  process.exitCode = 1;
});
