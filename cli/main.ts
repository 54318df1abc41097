/**
 * `export-ops` command line. Each command lives in its own module, loaded only when called.
 *
 *   export-ops local [--port N] [--database-url URL] [--jwt-secret S] [--storage-dir DIR] [--seed N]
 *   export-ops start [--database-url URL] [--count N]
 *   export-ops run file-cleanup|log-cleanup|metrics-aggregate [options]   (see `export-ops run --help`)
 *   export-ops report failure-rate|volume|aggregate [options]
 *   export-ops status [--json]
 *   export-ops restore --from <s3 prefix or manifest key> [--dry-run]
 *   export-ops bench [--quick]
 *   export-ops storm [file-cleanup|log-cleanup|metrics-aggregate] [--kills N] [--seed S]
 *   export-ops docs [--check]
 */
import { ConfigError } from '../lambdas/shared/read-settings';
import { DISCARD, routeJobOutput } from '../lambdas/shared/observability';
import { UsageError } from './args';
import { EXIT } from './exit-codes';

const COMMANDS: Record<string, () => Promise<{ main(argv: string[]): Promise<number> }>> = {
  local: () => import('./local'),
  start: () => import('./start'),
  run: () => import('./run'),
  report: () => import('./report'),
  status: () => import('./status'),
  restore: () => import('./restore'),
  bench: () => import('../bench/main'),
  storm: () => import('../storm/main'),
  docs: () => import('./docs'),
};

const USAGE = `usage: export-ops <command> [options]

commands:
  local     run the local Supabase + S3 stack in the foreground and print its variables
  start     boot the embedded stack, seed it, run every job once and print the results
  run       run one job: file-cleanup, log-cleanup or metrics-aggregate
  report    answer a question about export outcomes: failure-rate, volume or aggregate
  status    is it healthy, and what is waiting: last runs, next runs, backlog
  restore   put archived export logs back from S3
  bench     print speed and memory figures of each job on the local stack
  storm     kill each job at random times and check nothing is lost or doubled
  docs      regenerate the configuration tables of README.md and docs/deploy.md

Every command takes --help. Examples:
  npx export-ops status
  npx export-ops run file-cleanup --dry-run
  npx export-ops report failure-rate --json

exit codes: 0 done, 1 failed, 2 bad usage or refused input (nothing done), 3 stopped with work left (run again)
`;

async function main(argv: string[]): Promise<number> {
  // This process's stdout is the command's answer: job logs go to stderr, EMF nowhere unless a
  // command asks for it (only a Lambda's stdout reaches CloudWatch).
  routeJobOutput({ logs: process.stderr, emf: DISCARD });
  const [name, ...rest] = argv;
  const load = name ? COMMANDS[name] : undefined;
  if (!load) {
    const help = name === '--help' || name === '-h';
    if (help) process.stdout.write(USAGE);
    else process.stderr.write(name ? `unknown command "${name}"\n\n${USAGE}` : USAGE);
    return help ? EXIT.done : EXIT.usage;
  }
  const command = await load();
  return command.main(rest);
}

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (error: unknown) => {
    process.stderr.write(`export-ops: ${error instanceof Error ? error.message : String(error)}\n`);
    // Bad flags or configuration are refused before anything is done.
    process.exitCode = error instanceof UsageError || error instanceof ConfigError ? EXIT.usage : EXIT.failed;
  },
);
