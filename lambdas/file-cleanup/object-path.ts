/** Why a row's object path is never sent to Storage. */
export type SkipReason = 'empty_path' | 'absolute_path' | 'dot_segment' | 'other_bucket' | 'undecodable_path';

/** What a row points at: an object to delete, nothing stored, or a path refused with a reason. */
export type StoredObject =
  | { kind: 'object'; path: string }
  | { kind: 'none' }
  | { kind: 'invalid'; reason: SkipReason };

export interface RowObjectFields {
  /** From the migration's trigger: the bucket and path of a Supabase Storage file_url. */
  bucket: string | null;
  path: string | null;
  file_url: string | null;
}

const STORAGE_URL = /\/storage\/v1\/object\/(public|sign|authenticated)\//;

/**
 * Decides which object, if any, a row's file lives in. The path was derived in SQL (query string
 * dropped, percent-decoding applied once); here it is checked so that nothing outside the
 * exports bucket, and nothing a path trick could aim elsewhere, ever reaches remove().
 *
 * @example
 * resolveStoredObject({ bucket: 'exports', path: 'u1/a.json', file_url }, 'exports'); // { kind: 'object', path: 'u1/a.json' }
 */
export function resolveStoredObject(row: RowObjectFields, exportsBucket: string): StoredObject {
  if (row.bucket === null) {
    // No Storage URL: an app-relative download link or no file at all.
    return { kind: 'none' };
  }
  if (row.bucket !== exportsBucket) return { kind: 'invalid', reason: 'other_bucket' };
  if (row.path === null) {
    // The URL is a Storage URL whose percent-encoding is not valid UTF-8.
    return row.file_url && STORAGE_URL.test(row.file_url) ? { kind: 'invalid', reason: 'undecodable_path' } : { kind: 'none' };
  }
  if (row.path.trim() === '') return { kind: 'invalid', reason: 'empty_path' };
  if (row.path.startsWith('/')) return { kind: 'invalid', reason: 'absolute_path' };
  if (row.path.split('/').some((segment) => segment === '.' || segment === '..')) return { kind: 'invalid', reason: 'dot_segment' };
  return { kind: 'object', path: row.path };
}
