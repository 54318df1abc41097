import { resolveStoredObject } from '../../../lambdas/file-cleanup/object-path';

const url = 'https://p.supabase.co/storage/v1/object/public/exports/x';

describe('resolveStoredObject', () => {
  test.each([
    [{ bucket: 'exports', path: 'u1/a b.json', file_url: url }, { kind: 'object', path: 'u1/a b.json' }],
    [{ bucket: null, path: null, file_url: '/api/export/download/a.json' }, { kind: 'none' }],
    [{ bucket: null, path: null, file_url: null }, { kind: 'none' }],
    [{ bucket: 'exports', path: '', file_url: url }, { kind: 'invalid', reason: 'empty_path' }],
    [{ bucket: 'exports', path: '   ', file_url: url }, { kind: 'invalid', reason: 'empty_path' }],
    [{ bucket: 'exports', path: '/etc/passwd', file_url: url }, { kind: 'invalid', reason: 'absolute_path' }],
    [{ bucket: 'exports', path: 'u1/../u2/a.json', file_url: url }, { kind: 'invalid', reason: 'dot_segment' }],
    [{ bucket: 'exports', path: 'u1/./a.json', file_url: url }, { kind: 'invalid', reason: 'dot_segment' }],
    [{ bucket: 'exports', path: '..', file_url: url }, { kind: 'invalid', reason: 'dot_segment' }],
    [{ bucket: 'avatars', path: 'u1/a.png', file_url: url }, { kind: 'invalid', reason: 'other_bucket' }],
    [{ bucket: 'exports', path: null, file_url: `${url}%FF` }, { kind: 'invalid', reason: 'undecodable_path' }],
    [{ bucket: 'exports', path: 'u1/..a.json', file_url: url }, { kind: 'object', path: 'u1/..a.json' }],
  ])('%j → %j', (row, expected) => {
    expect(resolveStoredObject(row, 'exports')).toEqual(expected);
  });
});
