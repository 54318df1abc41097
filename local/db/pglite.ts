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

export interface PgliteDatabase extends Database {
  /**
   * The data directory as an uncompressed tarball, for {@link openPglite}'s `snapshot` (the test
   * suite migrates one database and starts every test file's from it).
   */
  dump(): Promise<Blob>;
}

/**
 * Embedded PostgreSQL (PGlite, compiled to WebAssembly): one backend, statements run one at a time.
 * With `snapshot`, the cluster starts from that data directory (a tarball from `dump()`)
 * instead of running initdb: a second or two instead of several.
 */
export async function openPglite(dataDir?: string, snapshot?: Blob): Promise<PgliteDatabase> {
  const { PGlite } = await import('@electric-sql/pglite');
  const pg = await PGlite.create({ ...(dataDir ? { dataDir } : {}), ...(snapshot ? { loadDataDir: snapshot } : {}) });
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
    dump: async () => pg.dumpDataDir('none'),
  };
}

