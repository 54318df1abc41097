import * as fs from 'fs';
import * as path from 'path';
import { settingsDocs } from '../lib/settings-docs';
import { parseCommand } from './args';

const USAGE = `usage: export-ops docs [--check]

Rewrites the configuration tables of README.md and docs/deploy.md from the settings table
(lambdas/shared/settings.ts). With --check, changes nothing and exits 1 if a table is stale.

examples:
  npm run docs
  npx export-ops docs --check
`;

/**
 * `export-ops docs [--check]` (`npm run docs`).
 *
 * @example
 * await main(['--check']) // 0 when README.md and docs/deploy.md are up to date
 */
export async function main(argv: string[]): Promise<number> {
  const args = parseCommand('docs', argv, { check: { type: 'boolean' } }, USAGE);
  if (typeof args === 'number') return args;
  const root = path.join(__dirname, '..');
  const stale = settingsDocs(root).filter((d) => d.current !== d.expected);
  if (args.values.check) {
    for (const d of stale) process.stderr.write(`${d.file}: settings table is stale; run npm run docs\n`);
    return stale.length ? 1 : 0;
  }
  for (const d of stale) {
    fs.writeFileSync(path.join(root, d.file), d.expected);
    process.stdout.write(`${d.file}: settings table rewritten\n`);
  }
  if (!stale.length) process.stdout.write('settings tables are up to date\n');
  return 0;
}
