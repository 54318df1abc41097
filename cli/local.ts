import { parseArgs } from 'node:util';
import { seedExports } from '../local/seed';
import { startLocalStack } from '../local/stack';

const HELP = `usage: export-ops local [--port N] [--s3-port N] [--database-url URL] [--jwt-secret S] [--storage-dir DIR] [--seed N]

Runs the local stack in the foreground until Ctrl-C. Prints KEY=value lines on stdout that a
shell can source (messages go to stderr):
  npx export-ops local > .env.local &   then   set -a; . ./.env.local; set +a
`;

/** Reads a port or count option, naming it when it is not a whole number. */
export function wholeNumber(name: string, value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  if (!/^\d+$/.test(value)) throw new Error(`--${name} must be a whole number, got "${value}"`);
  return Number(value);
}

export async function main(argv: string[]): Promise<number> {
  const { values } = parseArgs({
    args: argv,
    options: {
      port: { type: 'string' },
      's3-port': { type: 'string' },
      'database-url': { type: 'string' },
      'jwt-secret': { type: 'string' },
      'storage-dir': { type: 'string' },
      seed: { type: 'string' },
      help: { type: 'boolean', short: 'h' },
    },
  });
  if (values.help) {
    process.stdout.write(HELP);
    return 0;
  }
  const seedCount = wholeNumber('seed', values.seed);
  const stack = await startLocalStack({
    port: wholeNumber('port', values.port),
    s3Port: wholeNumber('s3-port', values['s3-port']),
    databaseUrl: values['database-url'] ?? process.env.DATABASE_URL,
    jwtSecret: values['jwt-secret'],
    storageDir: values['storage-dir'],
  });
  if (seedCount) {
    const summary = await seedExports({ db: stack.db, storageDir: stack.storageDir, supabaseUrl: stack.supabase.url }, { count: seedCount });
    process.stderr.write(`seeded ${JSON.stringify(summary)}\n`);
  }
  for (const [key, value] of Object.entries(stack.env)) process.stdout.write(`${key}=${value}\n`);
  process.stderr.write(`local stack running on ${stack.db.kind} (Ctrl-C to stop)\n`);
  await new Promise<void>((resolve) => {
    process.once('SIGINT', resolve);
    process.once('SIGTERM', resolve);
  });
  await stack.stop();
  return 0;
}
