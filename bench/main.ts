import { parseCommand } from '../cli/args';
import { EXIT } from '../cli/exit-codes';

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
  drain: () => import('./drain'),
};

const USAGE = `usage: export-ops bench [file-cleanup|log-cleanup|metrics-aggregate|migration|bundles|drain ...] [--quick] [--database-url URL]

Speed and memory figures of each job on the local stack, printed, never asserted. Needs a
PostgreSQL server for the large runs (--database-url, else DATABASE_URL, else
postgres://postgres@127.0.0.1:5432/postgres); bundles needs none. --quick uses small sizes and one
run per figure; --large adds the 10M-row sizes (minutes of seeding).
drain: a file backlog drained by the file cleanup's state machine with 1, 2 and 4 workers.

examples:
  npm run bench -- --quick
  npm run bench -- log-cleanup metrics-aggregate
`;

export interface BenchOptions {
  /** Server to create scratch databases on. */
  databaseUrl: string;
  /** Small sizes and one run per figure, for checking the benchmark itself runs. */
  quick: boolean;
  /** Also the largest sizes (10M rows), once each. */
  large: boolean;
}

export async function main(argv: string[]): Promise<number> {
  const args = parseCommand('bench', argv, { quick: { type: 'boolean' }, large: { type: 'boolean' }, 'database-url': { type: 'string' } }, USAGE, true);
  if (typeof args === 'number') return args;
  const { values, positionals } = args;
  const unknown = positionals.filter((p) => !(p in BENCHES));
  if (unknown.length) {
    process.stderr.write(`export-ops bench: unknown benchmark "${unknown[0]}" (have: ${Object.keys(BENCHES).join(', ')})\n`);
    return EXIT.usage;
  }
  const options: BenchOptions = {
    databaseUrl: (values['database-url'] as string | undefined) ?? process.env.DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres',
    quick: values.quick === true,
    large: values.large === true,
  };
  const names = positionals.length ? positionals : Object.keys(BENCHES);
  for (const name of names) {
    const load = BENCHES[name];
    process.stdout.write(`\n== ${name} ==\n`);
    await (await load()).bench(options);
  }
  return EXIT.done;
}
