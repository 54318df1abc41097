import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Database } from './database';

const SUPABASE_DIR = join(__dirname, '..', '..', 'supabase');
/** What Supabase provides and plain PostgreSQL lacks; never part of a deployed migration. */
export const BOOTSTRAP_FILE = join(SUPABASE_DIR, 'local', 'bootstrap.sql');
export const MIGRATIONS_DIR = join(SUPABASE_DIR, 'migrations');
/**
 * Serialises concurrent start-ups on one database (any constant unique to this project). An
 * advisory lock is per database: the bootstrap's roles, which belong to the whole server, guard
 * themselves against a start-up on another database.
 */
const MIGRATION_LOCK_KEY = 7_248_830_011;

/** The migration files in the order the Supabase CLI applies them (by timestamp prefix). */
export async function listMigrations(): Promise<string[]> {
  const names = (await readdir(MIGRATIONS_DIR)).filter((name) => name.endsWith('.sql')).sort();
  return names.map((name) => join(MIGRATIONS_DIR, name));
}

/**
 * Applies the local bootstrap, then every migration. All of them are idempotent, so this runs
 * on every start and doubles as a check that applying them twice is a no-op.
 *
 * @example
 * await applyMigrations(db); // safe to call again
 */
export async function applyMigrations(db: Database, options: { bootstrap?: boolean } = {}): Promise<void> {
  const files = [...(options.bootstrap === false ? [] : [BOOTSTRAP_FILE]), ...(await listMigrations())];
  for (const file of files) {
    const sql = await readFile(file, 'utf8');
    try {
      await db.exec(`select pg_advisory_lock(${MIGRATION_LOCK_KEY});\n${sql}\n;select pg_advisory_unlock(${MIGRATION_LOCK_KEY});`);
    } catch (error) {
      await db.query('select pg_advisory_unlock_all()').catch(() => undefined);
      throw new Error(`applying ${file} failed: ${(error as Error).message}`, { cause: error });
    }
  }
}
