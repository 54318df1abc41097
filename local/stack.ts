import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openDatabase, type Database } from './db/database';
import { applyMigrations } from './db/migrate';
import { signJwt } from './http/jwt';
import { startSupabaseServer, type SupabaseServer } from './http/server';
import { startS3Server, type S3Server } from './s3/server';

export interface LocalStackOptions {
  /** Port of the Supabase-compatible front. @default 0 (any free port) */
  port?: number;
  /** Port of the S3-compatible server. @default 0 (any free port) */
  s3Port?: number;
  /** A PostgreSQL server to use instead of embedded PGlite. @default undefined (PGlite) */
  databaseUrl?: string;
  /** Secret that signs the anon and service-role keys. @default random for each start */
  jwtSecret?: string;
  /** Folder for stored objects. @default a new temporary folder, removed on stop */
  storageDir?: string;
  /** The exports bucket created on start. @default 'exports' */
  exportsBucket?: string;
  /** The S3 archive bucket created on start. @default 'export-ops-archive' */
  archiveBucket?: string;
  /** PostgREST db-max-rows. @default 1000 */
  maxRows?: number;
  /**
   * PGlite only: start the database from this data directory (a tarball from PGlite's `dump()`, e.g.
   * of an already migrated database) instead of an empty one. The migrations are applied all
   * the same (a no-op on a migrated snapshot). @default undefined (an empty database)
   */
  pgliteSnapshot?: Blob;
}

export interface LocalStack {
  db: Database;
  supabase: SupabaseServer;
  s3: S3Server;
  storageDir: string;
  jwtSecret: string;
  anonKey: string;
  serviceRoleKey: string;
  /** The variables a job needs to run against this stack (what `export-ops local` prints). */
  env: Record<string, string>;
  stop(): Promise<void>;
}

/** Ten years: local keys should not expire during a long benchmark or a dev session. */
const KEY_LIFETIME_SECONDS = 10 * 365 * 24 * 3600;

/**
 * Starts the whole local stack: database (PGlite or a server), migrations, the Supabase-compatible
 * front, the S3-compatible server and both buckets.
 *
 * @example
 * const stack = await startLocalStack({ databaseUrl: process.env.DATABASE_URL });
 * Object.assign(process.env, stack.env);
 * await stack.stop();
 */
export async function startLocalStack(options: LocalStackOptions = {}): Promise<LocalStack> {
  const jwtSecret = options.jwtSecret ?? randomBytes(32).toString('hex');
  const exportsBucket = options.exportsBucket ?? 'exports';
  const archiveBucket = options.archiveBucket ?? 'export-ops-archive';
  const storageDir = options.storageDir ?? (await mkdtemp(join(tmpdir(), 'export-ops-storage-')));
  const cleanups: (() => Promise<unknown>)[] = [];
  if (!options.storageDir) cleanups.push(() => rm(storageDir, { recursive: true, force: true }));
  const stop = async () => {
    for (const cleanup of [...cleanups].reverse()) await cleanup().catch(() => undefined);
  };

  try {
    const db = await openDatabase({ databaseUrl: options.databaseUrl, pgliteSnapshot: options.pgliteSnapshot });
    cleanups.push(() => db.close());
    await applyMigrations(db);
    await db.query(`insert into storage.buckets (id, name, public) values ($1, $1, false) on conflict do nothing`, [exportsBucket]);

    const supabase = await startSupabaseServer({ db, jwtSecret, storageDir, port: options.port, maxRows: options.maxRows });
    cleanups.push(() => supabase.close());
    const s3 = await startS3Server({ buckets: [archiveBucket], port: options.s3Port });
    cleanups.push(() => s3.close());

    const exp = Math.floor(Date.now() / 1000) + KEY_LIFETIME_SECONDS;
    const anonKey = signJwt({ iss: 'supabase', role: 'anon', exp }, jwtSecret);
    const serviceRoleKey = signJwt({ iss: 'supabase', role: 'service_role', exp }, jwtSecret);
    const env = {
      SUPABASE_URL: supabase.url,
      SUPABASE_ANON_KEY: anonKey,
      SUPABASE_SERVICE_ROLE_KEY: serviceRoleKey,
      EXPORTS_BUCKET: exportsBucket,
      AWS_ENDPOINT_URL_S3: s3.endpoint,
      AWS_REGION: 'us-east-1',
      AWS_ACCESS_KEY_ID: 'S3RVER',
      AWS_SECRET_ACCESS_KEY: 'S3RVER',
      ARCHIVE_BUCKET: archiveBucket,
    };
    return { db, supabase, s3, storageDir, jwtSecret, anonKey, serviceRoleKey, env, stop };
  } catch (error) {
    await stop();
    throw error;
  }
}
