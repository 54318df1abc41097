import { randomBytes } from 'node:crypto';
import { Client } from 'pg';

async function adminQuery(serverUrl: string, sql: string): Promise<void> {
  const client = new Client({ connectionString: serverUrl });
  await client.connect();
  try {
    await client.query(sql);
  } finally {
    await client.end();
  }
}

/**
 * Creates a new, empty database on a PostgreSQL server, for one test file or one benchmark, so
 * runs never see each other's rows.
 *
 * @example
 * const scratch = await createScratchDatabase(process.env.DATABASE_URL!, 'export_ops_test');
 * // … use scratch.url …
 * await scratch.drop();
 */
export async function createScratchDatabase(serverUrl: string, prefix: string): Promise<{ url: string; drop(): Promise<void> }> {
  const name = `${prefix}_${process.pid}_${randomBytes(4).toString('hex')}`;
  await adminQuery(serverUrl, `create database "${name}"`);
  const url = new URL(serverUrl);
  url.pathname = `/${name}`;
  return { url: url.toString(), drop: () => adminQuery(serverUrl, `drop database if exists "${name}" with (force)`) };
}
