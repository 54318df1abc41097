import { resolveStoredObject, type OwnershipRule, type RowObjectFields } from '../../../lambdas/file-cleanup/object-path';

const OWNER = '00000000-0000-0000-0000-0000000000a1';
const OTHER = '00000000-0000-0000-0000-0000000000b2';
const EXPORT = '00000000-0000-0000-0000-0000000000e3';
const ORIGIN = 'https://p.supabase.co';
const rule: OwnershipRule = { exportsBucket: 'exports', storageUrlOrigins: [ORIGIN], ownedPathPrefix: '{user_id}/' };

/** A claimed row as the database derives it from file_url; only the fields under test differ. */
const row = (fields: Partial<RowObjectFields>): RowObjectFields => ({
  id: 'r', export_id: EXPORT, user_id: OWNER, origin: ORIGIN, bucket: 'exports', path: `${OWNER}/a.json`, url_problem: null, ...fields,
});

describe('resolveStoredObject', () => {
  test.each<[string, Partial<RowObjectFields>, ReturnType<typeof resolveStoredObject>]>([
    ['an object in the owner folder', { path: `${OWNER}/a b.json` }, { kind: 'object', path: `${OWNER}/a b.json` }],
    ['a name starting with two dots', { path: `${OWNER}/..a.json` }, { kind: 'object', path: `${OWNER}/..a.json` }],
    ['an app-relative link', { origin: null, bucket: null, path: null }, { kind: 'none' }],
    ['a non-Storage URL of the project', { bucket: null, path: null }, { kind: 'none' }],
    ['no file_url', { origin: null, bucket: null, path: null }, { kind: 'none' }],
    ['another user folder', { path: `${OTHER}/report.json` }, { kind: 'invalid', reason: 'not_owner' }],
    ['a folder named like the owner id plus more', { path: `${OWNER}x/a.json` }, { kind: 'invalid', reason: 'not_owner' }],
    ['a file at the bucket root', { path: 'a.json' }, { kind: 'invalid', reason: 'not_owner' }],
    ['a Storage URL of another host', { origin: 'https://evil.example' }, { kind: 'invalid', reason: 'foreign_origin' }],
    ['a Storage URL given relative', { origin: null }, { kind: 'invalid', reason: 'foreign_origin' }],
    ['a non-Storage URL of another host', { origin: 'https://evil.example', bucket: null, path: null }, { kind: 'invalid', reason: 'foreign_origin' }],
    ['the project host on another port', { origin: `${ORIGIN}:8443` }, { kind: 'invalid', reason: 'foreign_origin' }],
    ['an empty path', { path: '' }, { kind: 'invalid', reason: 'empty_path' }],
    ['a blank path', { path: '   ' }, { kind: 'invalid', reason: 'empty_path' }],
    ['an absolute path', { path: '/etc/passwd' }, { kind: 'invalid', reason: 'absolute_path' }],
    ['a .. segment out of the owner folder', { path: `${OWNER}/../${OTHER}/a.json` }, { kind: 'invalid', reason: 'dot_segment' }],
    ['a . segment', { path: `${OWNER}/./a.json` }, { kind: 'invalid', reason: 'dot_segment' }],
    ['an empty segment', { path: `${OWNER}//a.json` }, { kind: 'invalid', reason: 'empty_segment' }],
    ['another bucket', { bucket: 'avatars' }, { kind: 'invalid', reason: 'other_bucket' }],
    ['a URL that is not UTF-8 once decoded', { bucket: null, path: null, url_problem: 'undecodable_path' }, { kind: 'invalid', reason: 'undecodable_path' }],
    ['a URL over the length cap', { origin: null, bucket: null, path: null, url_problem: 'url_too_long' }, { kind: 'invalid', reason: 'url_too_long' }],
  ])('%s', (_name, fields, expected) => {
    expect(resolveStoredObject(row(fields), rule)).toEqual(expected);
  });

  test('the owner rule is a template: {export_id} and custom folders', () => {
    const perExport: OwnershipRule = { ...rule, ownedPathPrefix: 'exports/{user_id}/{export_id}-' };
    expect(resolveStoredObject(row({ path: `exports/${OWNER}/${EXPORT}-data.csv` }), perExport)).toEqual({ kind: 'object', path: `exports/${OWNER}/${EXPORT}-data.csv` });
    expect(resolveStoredObject(row({ path: `exports/${OWNER}/other-data.csv` }), perExport)).toEqual({ kind: 'invalid', reason: 'not_owner' });
  });

  test('custom domains are trusted only when configured', () => {
    const custom = row({ origin: 'https://files.example.com' });
    expect(resolveStoredObject(custom, rule)).toEqual({ kind: 'invalid', reason: 'foreign_origin' });
    expect(resolveStoredObject(custom, { ...rule, storageUrlOrigins: [ORIGIN, 'https://files.example.com'] })).toEqual({ kind: 'object', path: `${OWNER}/a.json` });
  });
});
