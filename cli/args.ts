import { parseArgs, type ParseArgsConfig } from 'node:util';
import { EXIT, exitHelp } from './exit-codes';

type Options = NonNullable<ParseArgsConfig['options']>;
export type Parsed = { values: Record<string, string | boolean | undefined>; positionals: string[] };

/**
 * Every command's flag parsing, so all of them behave alike: `--help`/`-h` prints the usage
 * (which ends with the exit codes) on stdout and exits 0; an unknown flag or a missing value
 * prints the problem and the usage on stderr and exits 2, before anything is done.
 * Returns the parsed flags, or the exit code when the command should stop.
 *
 * @example
 * const args = parseCommand('status', argv, { json: { type: 'boolean' } }, USAGE);
 * if (typeof args === 'number') return args;
 */
export function parseCommand(command: string, argv: string[], options: Options, usage: string, allowPositionals = false): Parsed | number {
  const text = usage.endsWith(exitHelp) ? usage : `${usage.trimEnd()}\n\n${exitHelp}`;
  let parsed: Parsed;
  try {
    parsed = parseArgs({ args: argv, options: { ...options, help: { type: 'boolean', short: 'h' } }, allowPositionals }) as Parsed;
  } catch (error) {
    process.stderr.write(`export-ops ${command}: ${(error as Error).message}\n\n${text}`);
    return EXIT.usage;
  }
  if (parsed.values.help) {
    process.stdout.write(text);
    return EXIT.done;
  }
  return parsed;
}

/**
 * A whole-number flag, named in the error when it is not one (a usage error: exit 2).
 *
 * @example
 * wholeNumber('port', '54321') // → 54321
 */
export function wholeNumber(name: string, value: string | boolean | undefined): number | undefined {
  if (value === undefined) return undefined;
  if (typeof value !== 'string' || !/^\d+$/.test(value)) throw new UsageError(`--${name} must be a whole number, got "${String(value)}"`);
  return Number(value);
}

/** Bad usage found after parsing (a value of the wrong kind): main() exits 2. */
export class UsageError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'UsageError';
  }
}
