/**
 * The one database port of the local stack: a small interface that both embedded PGlite and a
 * real PostgreSQL server (node-postgres) implement, so the HTTP front, the seeding tool, the
 * tests and the benchmarks run the same SQL on either.
 */
export interface QueryResult<Row> {
  rows: Row[];
  /** Rows touched by INSERT/UPDATE/DELETE, when the driver reports it. */
  affectedRows?: number;
}

/** Anything that runs one parameterised statement: the database itself or an open transaction. */
export interface Queryable {
  query<Row = Record<string, unknown>>(sql: string, params?: unknown[]): Promise<QueryResult<Row>>;
}

export interface Database extends Queryable {
  /** `pglite` (embedded, one backend) or `postgres` (a server reached at a URL). */
  readonly kind: 'pglite' | 'postgres';
  /** Runs `fn` inside BEGIN … COMMIT on one connection; rolls back when it throws. */
  transaction<T>(fn: (tx: Queryable) => Promise<T>): Promise<T>;
  /** Runs a script of several statements without parameters (migrations, bootstrap). */
  exec(script: string): Promise<void>;
  close(): Promise<void>;
}

/** Options for {@link openDatabase}. */
export interface OpenDatabaseOptions {
  /**
   * A PostgreSQL connection string. When absent, an embedded PGlite database is opened.
   * @default undefined (embedded PGlite)
   */
  databaseUrl?: string;
  /**
   * Where PGlite keeps its files; ignored for a server.
   * @default undefined (in memory)
   */
  dataDir?: string;
  /**
   * A PGlite data directory to start from (a tarball from PGlite's `dump()`), instead of an empty
   * cluster; ignored for a server.
   * @default undefined (initdb)
   */
  pgliteSnapshot?: Blob;
}

/**
 * Opens the database the local stack runs on.
 *
 * @example
 * const db = await openDatabase({ databaseUrl: process.env.DATABASE_URL });
 * const { rows } = await db.query('select 1 as one');
 */
export async function openDatabase(options: OpenDatabaseOptions = {}): Promise<Database> {
  if (options.databaseUrl) {
    const { openPostgres } = await import('./postgres');
    return openPostgres(options.databaseUrl);
  }
  const { openPglite } = await import('./pglite');
  return openPglite(options.dataDir, options.pgliteSnapshot);
}
