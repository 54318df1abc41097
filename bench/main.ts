import { parseArgs } from 'node:util';

/**
 * `npm run bench`: speed and memory figures of each job on the local stack, printed, never
 * asserted. Needs a PostgreSQL server for the large runs (DATABASE_URL, default the machine's
 * 127.0.0.1:5432); `--quick` uses small sizes for a smoke run.
 */
const BENCHES: Record<string, () => Promise<{ bench(options: BenchOptions): Promise<void> }>> = {
  'file-cleanup': () => import('./file-cleanup'),
  'log-cleanup': () => import('./log-cleanup'),
  'metrics-aggregate': () => import('./metrics'),
  bundles: () => import('./bundles'),
  migration: () => import('./migration'),
};

export interface BenchOptions {
  /** Server to create scratch databases on. */
  databaseUrl: string;
  /** Small sizes, for checking the benchmark itself runs. */
  quick: boolean;
}

export async function main(argv: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: { quick: { type: 'boolean' }, 'database-url': { type: 'string' } },
  });
  const options: BenchOptions = {
    databaseUrl: values['database-url'] ?? process.env.DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres',
    quick: values.quick === true,
  };
  const names = positionals.length ? positionals : Object.keys(BENCHES);
  for (const name of names) {
    const load = BENCHES[name];
    if (!load) throw new Error(`unknown benchmark "${name}" (have: ${Object.keys(BENCHES).join(', ')})`);
    process.stdout.write(`\n== ${name} ==\n`);
    await (await load()).bench(options);
  }
  return 0;
}
