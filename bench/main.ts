import { readFileSync, writeFileSync } from 'node:fs';
import { cpus, release, totalmem } from 'node:os';
import { join } from 'node:path';
import { Client } from 'pg';
import { parseCommand } from '../cli/args';
import { EXIT } from '../cli/exit-codes';
import { withSection } from '../lib/settings-docs';
import { printHostSpeed } from './host';
import { beginBench, print, printed, settleServer } from './support';

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
--readme (a full run only: every bench, not --quick) writes the figures, with the date and the
machine, into README.md's performance section.

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
  const args = parseCommand('bench', argv, { quick: { type: 'boolean' }, large: { type: 'boolean' }, readme: { type: 'boolean' }, 'database-url': { type: 'string' } }, USAGE, true);
  if (typeof args === 'number') return args;
  const { values, positionals } = args;
  const unknown = positionals.filter((p) => !(p in BENCHES));
  if (unknown.length) {
    process.stderr.write(`export-ops bench: unknown benchmark "${unknown[0]}" (have: ${Object.keys(BENCHES).join(', ')})\n`);
    return EXIT.usage;
  }
  if (values.readme && (positionals.length || values.quick)) {
    process.stderr.write('export-ops bench: --readme writes the figures of a full run: give no bench names and no --quick\n');
    return EXIT.usage;
  }
  const options: BenchOptions = {
    databaseUrl: (values['database-url'] as string | undefined) ?? process.env.DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres',
    quick: values.quick === true,
    large: values.large === true,
  };
  const names = positionals.length ? positionals : Object.keys(BENCHES);
  // Only bundles runs without a PostgreSQL server, and so does its host probe.
  const probeUrl = names.some((name) => name !== 'bundles') ? options.databaseUrl : null;
  beginBench('host');
  await printHostSpeed(probeUrl, 'at start');
  for (const name of names) {
    beginBench(name);
    // Each bench starts on a server with nothing left to write from the one before (its drops, its seeds).
    if (probeUrl) await settleServer(probeUrl);
    const started = performance.now();
    await (await BENCHES[name]()).bench(options);
    // What a run costs, seeding included: a full run has to fit beside other work.
    print('wall time of this bench, seeding included, min', ((performance.now() - started) / 60_000).toFixed(1));
  }
  beginBench('host');
  await printHostSpeed(probeUrl, 'at end');
  if (values.readme) {
    const readme = join(__dirname, '..', 'README.md');
    writeFileSync(readme, withSection(readFileSync(readme, 'utf8'), 'bench', figuresTable(await machine(options.databaseUrl))));
    process.stdout.write('\nREADME.md: performance figures rewritten\n');
  }
  return EXIT.done;
}

/** What the figures were measured on: CPUs, memory, kernel, Node and the PostgreSQL server. */
async function machine(databaseUrl: string): Promise<string> {
  const client = new Client({ connectionString: databaseUrl });
  await client.connect();
  try {
    const { rows: [{ server_version: pg }] } = await client.query<{ server_version: string }>('show server_version');
    const cpu = cpus();
    return `${cpu.length} × ${cpu[0]?.model.trim() ?? 'unknown CPU'}, ${Math.round(totalmem() / 2 ** 30)} GiB, Linux ${release()}, Node ${process.version}, PostgreSQL ${pg.split(' ')[0]}`;
  } finally {
    await client.end();
  }
}

/** The figures of this run as the README's table, with the date and the machine. */
function figuresTable(machineLine: string): string {
  const cell = (text: string) => text.replace(/\|/g, '\\|');
  return [
    `Written by \`npm run bench -- --readme\` on ${new Date().toISOString().slice(0, 10)}, ${machineLine}. ` +
      'Each figure is printed as the bench printed it: median [min–max] of the runs it names.',
    '',
    '| bench | figure | value |',
    '|---|---|---|',
    ...printed.map((f) => `| ${f.bench} | ${cell(f.label.trim())} | ${cell(f.value)} |`),
  ].join('\n');
}
