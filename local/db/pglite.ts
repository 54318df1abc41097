import type { Database, Queryable, QueryResult } from './database';

type PGliteLike = {
  query<Row>(sql: string, params?: unknown[]): Promise<{ rows: Row[]; affectedRows?: number }>;
};

function wrap(db: PGliteLike): Queryable {
  return {
    async query<Row>(sql: string, params?: unknown[]): Promise<QueryResult<Row>> {
      const result = await db.query<Row>(sql, params);
      return { rows: result.rows, affectedRows: result.affectedRows };
    },
  };
}

/** Embedded PostgreSQL (PGlite, compiled to WebAssembly): one backend, statements run one at a time. */
export async function openPglite(dataDir?: string): Promise<Database> {
  const { PGlite } = await import('@electric-sql/pglite');
  const pg = await PGlite.create(dataDir ? { dataDir } : {});
  const direct = wrap(pg);
  return {
    kind: 'pglite',
    query: direct.query,
    // PGlite queues transactions behind one mutex, so concurrent HTTP requests serialise safely.
    transaction: (fn) => pg.transaction((tx) => fn(wrap(tx))),
    async exec(script) {
      await pg.exec(script);
    },
    close: () => pg.close(),
  };
}
