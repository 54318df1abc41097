import { seedExports } from '../local/seed';
import { startLocalStack } from '../local/stack';
import { parseCommand, wholeNumber } from './args';
import { EXIT } from './exit-codes';

const HELP = `usage: export-ops local [--port N] [--s3-port N] [--database-url URL] [--jwt-secret S] [--storage-dir DIR] [--seed N]

Runs the local stack in the foreground until Ctrl-C. Prints KEY=value lines on stdout that a
shell can source (messages go to stderr):
  npx export-ops local > .env.local &   then   set -a; . ./.env.local; set +a

examples:
  npx export-ops local --seed 2000 > .env.local &
  npx export-ops local --database-url postgres://postgres@127.0.0.1:5432/postgres --port 54321
`;

export async function main(argv: string[]): Promise<number> {
  const args = parseCommand('local', argv, {
    port: { type: 'string' },
    's3-port': { type: 'string' },
    'database-url': { type: 'string' },
    'jwt-secret': { type: 'string' },
    'storage-dir': { type: 'string' },
    seed: { type: 'string' },
  }, HELP);
  if (typeof args === 'number') return args;
  const values = args.values as Record<string, string | undefined>;
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
  return EXIT.done;
}
