import { createScratchDatabase } from '../../local/db/scratch';
import { startLocalStack, type LocalStack, type LocalStackOptions } from '../../local/stack';

/**
 * A local stack for one test file. With DATABASE_URL set (CI's second pass), it runs on a new
 * database of that server, dropped on stop, so test files never see each other's rows;
 * otherwise on a fresh embedded PGlite.
 *
 * @example
 * let stack: LocalStack;
 * beforeAll(async () => { stack = await startTestStack(); });
 * afterAll(() => stack.stop());
 */
export async function startTestStack(options: LocalStackOptions = {}): Promise<LocalStack> {
  const serverUrl = process.env.DATABASE_URL;
  if (!serverUrl) return startLocalStack(options);
  const scratch = await createScratchDatabase(serverUrl, 'export_ops_test');
  const stack = await startLocalStack({ ...options, databaseUrl: scratch.url });
  return { ...stack, stop: async () => { await stack.stop(); await scratch.drop(); } };
}

/** Which database this run uses, for test names. */
export const databaseMode = process.env.DATABASE_URL ? 'postgres' : 'pglite';
