import { Pool, type PoolClient } from 'pg';
import type { Database, Queryable, QueryResult } from './database';

/**
 * Connections to a real server. Ten is enough for the HTTP front under the jobs' concurrency
 * and stays far below PostgreSQL's default max_connections of 100.
 */
const POOL_SIZE = 10;

function wrap(client: Pick<PoolClient, 'query'>): Queryable {
  return {
    async query<Row>(sql: string, params?: unknown[]): Promise<QueryResult<Row>> {
      const result = await client.query(sql, params as unknown[]);
      return { rows: result.rows as Row[], affectedRows: result.rowCount ?? undefined };
    },
  };
}

export async function openPostgres(databaseUrl: string): Promise<Database> {
  const pool = new Pool({ connectionString: databaseUrl, max: POOL_SIZE });
  // An idle connection lost (the server restarted, the database was dropped under it): the pool
  // discards it and connects anew on the next query. Without a listener, node-postgres's 'error'
  // event would end the whole process (it ended a bench run, hiding whatever came first).
  pool.on('error', () => undefined);
  // Fail at start-up with the server's own message rather than on the first request.
  await pool.query('select 1');
  const direct = wrap(pool);
  return {
    kind: 'postgres',
    query: direct.query,
    async transaction(fn) {
      const client = await pool.connect();
      try {
        await client.query('begin');
        const value = await fn(wrap(client));
        await client.query('commit');
        return value;
      } catch (error) {
        await client.query('rollback').catch(() => undefined);
        throw error;
      } finally {
        client.release();
      }
    },
    async exec(script) {
      await pool.query(script);
    },
    close: () => pool.end(),
  };
}
