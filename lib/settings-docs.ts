import * as fs from 'fs';
import * as path from 'path';
import type { Setting, SettingsTable } from '../lambdas/shared/setting-kinds';
import { SETTINGS } from '../lambdas/shared/settings';

/**
 * The configuration tables of README.md (environment variables) and docs/deploy.md (context
 * keys), generated from the settings table. Each sits between marker comments; `npm run docs`
 * rewrites them and a test fails when the checked-in tables differ from what this produces.
 */

/** Which table goes into which file, between `<!-- settings:<section>:begin … -->` and `<!-- settings:<section>:end -->`. */
export const SETTINGS_DOCS = [
  { file: 'README.md', section: 'env', render: environmentTable },
  { file: 'docs/deploy.md', section: 'context', render: contextTable },
] as const;

/** A table cell: pipes escaped, so a doc line cannot break the row. */
const cell = (text: string) => text.replace(/\|/g, '\\|');
const code = (text: string) => `\`${text}\``;

function defaultOf(s: Setting): string {
  if (s.defaultDoc) return s.defaultDoc;
  if (s.required) return 'required';
  return s.default === undefined ? '—' : code(String(s.default));
}

function valuesOf(s: Setting): string {
  if (!s.bounds) return s.type;
  // "whole number ≥ 1", "number 1–3600"; a worded bound after a comma.
  return /^[≥\d]/.test(s.bounds) ? `${s.type} ${s.bounds}` : `${s.type}, ${s.bounds}`;
}

const jobsOf = (s: Setting) => (s.jobs === 'all' ? 'all' : s.jobs.length ? s.jobs.join(', ') : '—');

function table(header: string[], rows: string[][]): string {
  const line = (cells: string[]) => `| ${cells.map(cell).join(' | ')} |`;
  return [line(header), `|${header.map(() => '---').join('|')}|`, ...rows.map(line)].join('\n');
}

/**
 * The README's table: one row per setting the functions read from their environment.
 *
 * @example
 * environmentTable(SETTINGS) // '| Variable | Default | … |\n|---|…\n| `SUPABASE_URL` | required | …'
 */
export function environmentTable(settings: SettingsTable = SETTINGS): string {
  const rows = Object.entries(settings).filter(([, s]) => s.env !== undefined).map(([name, s]) => [
    code(s.env as string),
    defaultOf(s),
    valuesOf(s),
    jobsOf(s),
    s.context ? `context ${code(name)}` : s.setByStack ?? '— (not set by the stack)',
    s.doc,
  ]);
  return table(['Variable', 'Default', 'Values', 'Used by', 'Set by the stack from', 'Meaning'], rows);
}

/**
 * docs/deploy.md's table: one row per stack setting (prop and context key).
 *
 * @example
 * contextTable(SETTINGS) // '| Context key | Default | … |\n|---|…\n| `supabaseUrl` | required | …'
 */
export function contextTable(settings: SettingsTable = SETTINGS): string {
  const rows = Object.entries(settings).filter(([, s]) => s.context).map(([name, s]) => [
    code(name),
    defaultOf(s),
    valuesOf(s),
    s.env === undefined ? '— (stack only)' : `${code(s.env)} (${jobsOf(s)})`,
    s.doc,
  ]);
  return table(['Context key', 'Default', 'Values', 'Function variable (jobs)', 'Meaning'], rows);
}

/**
 * `doc` with the part between its `<!-- name:begin … -->` and `<!-- name:end -->` markers
 * replaced by `content` (generated parts of the docs: settings tables, the bench's figures).
 *
 * @example
 * withSection('a\n<!-- settings:env:begin -->\nold\n<!-- settings:env:end -->\n', 'settings:env', 'new')
 * // 'a\n<!-- settings:env:begin -->\nnew\n<!-- settings:env:end -->\n'
 */
export function withSection(doc: string, name: string, content: string): string {
  const pattern = new RegExp(`(<!-- ${name}:begin[^>]*-->\\n)[\\s\\S]*?(<!-- ${name}:end -->)`);
  if (!pattern.test(doc)) throw new Error(`no <!-- ${name}:begin --> … <!-- ${name}:end --> markers`);
  return doc.replace(pattern, (_, begin: string, end: string) => `${begin}${content}\n${end}`);
}

/**
 * Each doc file as it is and as the settings table says it should be.
 *
 * @example
 * const stale = settingsDocs(repoRoot).filter((d) => d.current !== d.expected);
 */
export function settingsDocs(root: string, settings: SettingsTable = SETTINGS): Array<{ file: string; current: string; expected: string }> {
  return SETTINGS_DOCS.map(({ file, section, render }) => {
    const current = fs.readFileSync(path.join(root, file), 'utf8');
    return { file, current, expected: withSection(current, `settings:${section}`, render(settings)) };
  });
}
