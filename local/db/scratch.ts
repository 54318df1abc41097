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
 * Creates a new database on a PostgreSQL server, for one test file or one benchmark, so runs
 * never see each other's rows: empty, or a copy of `template` (a database nobody is connected to).
 *
 * @example
 * const scratch = await createScratchDatabase(process.env.DATABASE_URL!, 'export_ops_test');
 * // … use scratch.url …
 * await scratch.drop();
 */
export async function createScratchDatabase(
  serverUrl: string,
  prefix: string,
  options: { template?: string } = {},
): Promise<{ name: string; url: string; drop(): Promise<void> }> {
  const name = `${prefix}_${process.pid}_${randomBytes(4).toString('hex')}`;
  await adminQuery(serverUrl, `create database "${name}"${options.template ? ` template "${options.template}"` : ''}`);
  const url = new URL(serverUrl);
  url.pathname = `/${name}`;
  return { name, url: url.toString(), drop: () => adminQuery(serverUrl, `drop database if exists "${name}" with (force)`) };
}
