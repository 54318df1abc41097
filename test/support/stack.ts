import { readFile } from 'node:fs/promises';
import { createScratchDatabase } from '../../local/db/scratch';
import { startLocalStack, type LocalStack, type LocalStackOptions } from '../../local/stack';

/** Where test/support/global-setup.ts left the migrated PGlite data directory. */
export const PGLITE_SNAPSHOT_ENV = 'EXPORT_OPS_TEST_PGLITE_SNAPSHOT';

let snapshot: Promise<Blob | undefined> | undefined;
/** The migrated PGlite tarball, read once per test file; none when the global setup did not run. */
function pgliteSnapshot(): Promise<Blob | undefined> {
  const path = process.env[PGLITE_SNAPSHOT_ENV];
  snapshot ??= path ? readFile(path).then((bytes) => new Blob([bytes])) : Promise.resolve(undefined);
  return snapshot;
}

/**
 * A local stack for one test file. With DATABASE_URL set (CI's second pass), it runs on a new
 * database of that server, dropped on stop, so test files never see each other's rows;
 * otherwise on a fresh embedded PGlite, started from the migrated data directory the global
 * setup made (the stack applies the migrations again, a no-op).
 *
 * @example
 * let stack: LocalStack;
 * beforeAll(async () => { stack = await startTestStack(); });
 * afterAll(() => stack.stop());
 */
export async function startTestStack(options: LocalStackOptions = {}): Promise<LocalStack> {
  const serverUrl = process.env.DATABASE_URL;
  if (!serverUrl) return startLocalStack({ pgliteSnapshot: await pgliteSnapshot(), ...options });
  const scratch = await createScratchDatabase(serverUrl, 'export_ops_test');
  const stack = await startLocalStack({ ...options, databaseUrl: scratch.url });
  return { ...stack, stop: async () => { await stack.stop(); await scratch.drop(); } };
}

/** Which database this run uses, for test names. */
export const databaseMode = process.env.DATABASE_URL ? 'postgres' : 'pglite';
