import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { applyMigrations, BOOTSTRAP_FILE, listMigrations } from '../../local/db/migrate';
import { openPglite } from '../../local/db/pglite';
import { PGLITE_SNAPSHOT_ENV } from './stack';

/**
 * Once per `jest` run, before any test file: in the PGlite pass (no DATABASE_URL), a migrated
 * PGlite data directory that every test file's stack starts from (see test/support/stack.ts),
 * instead of each running initdb and all the migrations again (several seconds of CPU each).
 *
 * The tarball is kept in the temporary folder under a hash of the bootstrap, the migrations and
 * the PGlite version, so a changed migration makes a new one and an unchanged run reuses it.
 * Workers inherit its path through the environment.
 */
export default async function globalSetup(): Promise<void> {
  if (process.env.DATABASE_URL) return;
  const files = [BOOTSTRAP_FILE, ...(await listMigrations())];
  const hash = createHash('sha256');
  hash.update(await readFile(join(dirname(require.resolve('@electric-sql/pglite')), '..', 'package.json')));
  for (const file of files) hash.update(file).update(await readFile(file));
  const dir = join(tmpdir(), 'export-ops-test-cache');
  const path = join(dir, `pglite-migrated-${hash.digest('hex').slice(0, 16)}.tar`);
  if (!existsSync(path)) {
    const db = await openPglite();
    try {
      await applyMigrations(db);
      const dump = await db.dump();
      await mkdir(dir, { recursive: true });
      const partial = `${path}.${process.pid}.partial`;
      await writeFile(partial, Buffer.from(await dump.arrayBuffer()));
      await rename(partial, path);
    } finally {
      await db.close();
    }
  }
  process.env[PGLITE_SNAPSHOT_ENV] = path;
}
