import { createHash } from 'node:crypto';
import { Client } from 'pg';
import { print, spread } from './support';

/** Runs of each probe; the median is printed, with min and max. */
const RUNS = 5;
/**
 * Integers PostgreSQL sums: 0.23 s on the fast day of the README's table, 0.31–0.52 s on a slow
 * one; long enough that timer and round-trip noise do not matter, short enough to run twice a bench.
 */
const SUM_OF = 3_000_000;
/** Bytes Node hashes (SHA-256) for its probe: 0.17 s on the slow day (not yet run on a fast one). */
const HASHED_BYTES = 256 * 2 ** 20;
/** Hashed as one 16 MiB buffer fed again and again, so the probe adds little to this process's RSS. */
const CHUNK_BYTES = 16 * 2 ** 20;

/**
 * Prints how fast this machine is right now, by two fixed pieces of work: PostgreSQL summing
 * integers (one backend, no disk) and Node hashing a buffer. The benches' times follow the host
 * (the same code ran 2–3× slower from one day to the next here, with nothing else running in the
 * VM), so a run prints these at its start and at its end: two runs are comparable only when
 * their probes agree, and a probe that moves within a run says the host changed under it.
 *
 * @example
 * await printHostSpeed('postgres://postgres@127.0.0.1:5432/postgres', 'at start');
 */
export async function printHostSpeed(databaseUrl: string | null, when: string): Promise<void> {
  const hashMs: number[] = [];
  const chunk = Buffer.alloc(CHUNK_BYTES, 7);
  for (let i = 0; i < RUNS; i++) {
    const started = performance.now();
    const hash = createHash('sha256');
    for (let fed = 0; fed < HASHED_BYTES; fed += CHUNK_BYTES) hash.update(chunk);
    hash.digest();
    hashMs.push(performance.now() - started);
  }
  print(`host speed ${when}: Node hashes ${HASHED_BYTES / 2 ** 20} MiB (SHA-256), ms, median [min–max] of ${RUNS}`, spread(hashMs));
  if (!databaseUrl) return;
  const client = new Client({ connectionString: databaseUrl });
  await client.connect();
  try {
    const sumMs: number[] = [];
    for (let i = 0; i < RUNS; i++) {
      const started = performance.now();
      await client.query('select sum(i) from generate_series(1, $1::int) i', [SUM_OF]);
      sumMs.push(performance.now() - started);
    }
    print(`host speed ${when}: PostgreSQL sums ${SUM_OF.toLocaleString('en-US')} integers, ms, median [min–max] of ${RUNS}`, spread(sumMs));
  } finally {
    await client.end();
  }
}
