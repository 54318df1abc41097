import * as path from 'path';
import { contextTable, environmentTable, settingsDocs, withSection } from '../../lib/settings-docs';
import type { SettingsTable } from '../../lambdas/shared/setting-kinds';
import { SETTINGS } from '../../lambdas/shared/settings';

describe('generated configuration tables', () => {
  // How CI keeps the docs honest: .ci/run runs npm test.
  test.each(settingsDocs(path.join(__dirname, '..', '..')).map((d) => [d.file, d]))(
    '%s holds the table the settings table produces (run `npm run docs` to update it)', (_, doc) => {
      expect(doc.current).toBe(doc.expected);
    });

  test('every setting has its row: the variables in one table, the context keys in the other', () => {
    const env = environmentTable();
    const context = contextTable();
    for (const [name, s] of Object.entries(SETTINGS as SettingsTable)) {
      if (s.env !== undefined) expect(env).toContain(`| \`${s.env}\` |`);
      if (s.context) expect(context).toContain(`| \`${name}\` |`);
    }
  });

  test('only the marked part is replaced; missing markers are an error', () => {
    const doc = 'before\n<!-- settings:env:begin (generated) -->\nold\nrows\n<!-- settings:env:end -->\nafter\n';
    expect(withSection(doc, 'settings:env', 'new')).toBe('before\n<!-- settings:env:begin (generated) -->\nnew\n<!-- settings:env:end -->\nafter\n');
    expect(() => withSection('no markers', 'settings:env', 'new')).toThrow(/settings:env:begin/);
  });

  test('a pipe in a doc line cannot break its row', () => {
    const table = environmentTable({ x: { env: 'X', jobs: [], schema: SETTINGS.exportsBucket.schema, type: 'text', doc: 'a | b' } });
    expect(table).toContain('| a \\| b |');
  });
});
