import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { exportOps } from '../support/cli';

/**
 * The README's command table against the real CLI: every command line it documents is run with
 * --help appended (so nothing connects anywhere) and must parse, exit 0 and name each flag the
 * README shows; every command `export-ops --help` lists answers --help with an example. A flag
 * renamed in the code, or documented but never built, fails here.
 */
const ROOT = join(__dirname, '..', '..');
const readme = readFileSync(join(ROOT, 'README.md'), 'utf8');
const scripts = (JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { scripts: Record<string, string> }).scripts;

/** The first cell of each row of the table under "| command | what it does |". */
function documentedLines(): string[] {
  const table = readme.slice(readme.indexOf('| command | what it does |')).split('\n\n')[0].split('\n').slice(2);
  return table.flatMap((row) => [...row.split(' | ')[0].matchAll(/`([^`]+)`/g)].map((m) => m[1].replace(/\\\|/g, '|')));
}

/** A documented line as the CLI invocations it stands for: `a|b` alternatives expanded, npm scripts mapped to their command. */
function invocations(line: string): { args: string[]; flags: string[] }[] {
  const flags = [...line.matchAll(/--([a-z][a-z-]*)/g)].map((m) => `--${m[1]}`);
  const words = line.replace(/\[[^\]]*\]|<[^>]*>|…/g, ' ').split(/\s+/).filter(Boolean);
  let command: string[];
  if (words[0] === 'npx' && words[1] === 'export-ops') command = words.slice(2);
  else if (words[0] === 'npm' && (words[1] === 'start' || words[1] === 'run')) {
    const script = words[1] === 'start' ? 'start' : words[2];
    expect(scripts).toHaveProperty([script]);
    const target = /cli\/export-ops\.js (\S+)/.exec(scripts[script]);
    if (!target) return []; // not an export-ops command (typecheck, synth): the script's existence is checked
    command = [target[1]];
  } else return [];
  // The positional words: `run file-cleanup`, `report failure-rate|volume|aggregate`.
  const [first, ...rest] = command.filter((w) => /^[a-z][a-z|-]*$/.test(w));
  const alternatives = rest.length ? rest[0].split('|') : [undefined];
  return alternatives.map((alt) => ({ args: [first, ...(alt ? [alt] : [])], flags }));
}

describe('the README command table', () => {
  const cases = documentedLines().flatMap((line) => invocations(line).map((inv) => [`${inv.args.join(' ')} (${line})`, inv] as const));

  test('documents the export-ops commands', () => {
    expect(cases.length).toBeGreaterThanOrEqual(10);
  });

  test.each(cases)('%s: --help exits 0 and names every documented flag', async (_name, { args, flags }) => {
    const { code, stdout, stderr } = await exportOps({}, [...args, '--help']);
    expect({ code, stderr }).toEqual({ code: 0, stderr: '' });
    for (const flag of flags) expect(stdout).toContain(flag);
  });
});

describe('export-ops --help', () => {
  test('every command it lists answers --help with an example and the exit codes', async () => {
    const { code, stdout } = await exportOps({}, ['--help']);
    expect(code).toBe(0);
    const commands = [...stdout.split('commands:')[1].split('\n\n')[0].matchAll(/^ {2}([a-z]+) /gm)].map((m) => m[1]);
    expect(commands).toEqual(expect.arrayContaining(['local', 'start', 'run', 'report', 'status', 'restore', 'bench', 'storm', 'docs']));
    for (const command of commands) {
      const help = await exportOps({}, [command, '--help']);
      expect({ command, code: help.code }).toEqual({ command, code: 0 });
      expect(help.stdout).toMatch(/example/);
      expect(help.stdout).toMatch(/exit codes: 0 done, 1 failed, 2 bad usage/);
    }
  });

  test('an unknown command or flag exits 2 and does nothing', async () => {
    expect((await exportOps({}, ['frobnicate'])).code).toBe(2);
    expect((await exportOps({}, ['status', '--frobnicate'])).code).toBe(2);
    expect((await exportOps({}, ['run', 'file-cleanup', '--frobnicate'])).code).toBe(2);
  });
});
