/** Why a row's object is never sent to Storage. */
export type SkipReason =
  | 'url_too_long'
  | 'undecodable_path'
  | 'foreign_origin'
  | 'other_bucket'
  | 'empty_path'
  | 'absolute_path'
  | 'dot_segment'
  | 'empty_segment'
  | 'not_owner';

/** What a row points at: an object to delete, nothing stored, or a path refused with a reason. */
export type StoredObject =
  | { kind: 'object'; path: string }
  | { kind: 'none' }
  | { kind: 'invalid'; reason: SkipReason };

/** A row as the claim returns it: the live row's owner and what the database derived from its file_url. */
export interface RowObjectFields {
  id: string;
  export_id: string;
  user_id: string;
  /** scheme://host[:port] of an absolute file_url, lower case; null for a relative one. */
  origin: string | null;
  /** Bucket and path of a Storage object URL, percent-decoded once; null for any other URL. */
  bucket: string | null;
  path: string | null;
  /** Set when the URL could not be read at all ('url_too_long', 'undecodable_path'). */
  url_problem: string | null;
}

/** What a row may point at: the project's own Storage, its exports bucket, and the row owner's folder. */
export interface OwnershipRule {
  exportsBucket: string;
  /** Origins of the project's Storage URLs (the project URL's origin, or its custom domains). */
  storageUrlOrigins: readonly string[];
  /** Every deletable path starts with this, `{user_id}` and `{export_id}` filled in from the row. */
  ownedPathPrefix: string;
}

/** The prefix a row's own objects start with. */
export function ownedPrefixOf(row: Pick<RowObjectFields, 'user_id' | 'export_id'>, template: string): string {
  return template.replaceAll('{user_id}', row.user_id).replaceAll('{export_id}', row.export_id);
}

/**
 * Decides which object, if any, a row's file lives in, trusting nothing the row's user wrote:
 * every column of the row is theirs to write. An object is returned only when the URL is a
 * Storage URL of this project (its origin), in the exports bucket, at a clean path inside the
 * row owner's own folder. A URL that names no stored object (an app-relative download link,
 * or a non-Storage URL of the project) means nothing to delete; anything else is refused with
 * a reason, and the row is flagged and reported, never removed.
 *
 * @example
 * resolveStoredObject(row, { exportsBucket: 'exports', storageUrlOrigins: ['https://ref.supabase.co'], ownedPathPrefix: '{user_id}/' });
 * // { kind: 'object', path: '<user_id>/training-data-all-2026-11-29-12.json' }
 */
export function resolveStoredObject(row: RowObjectFields, rule: OwnershipRule): StoredObject {
  if (row.url_problem) return { kind: 'invalid', reason: row.url_problem as SkipReason };
  const ours = row.origin !== null && rule.storageUrlOrigins.includes(row.origin);
  if (row.bucket === null) {
    // Not a Storage object URL: a relative link (the app's download route), or another URL of
    // the project's own. A foreign absolute URL could be a Storage front we do not know.
    return row.origin === null || ours ? { kind: 'none' } : { kind: 'invalid', reason: 'foreign_origin' };
  }
  if (!ours) return { kind: 'invalid', reason: 'foreign_origin' };
  if (row.bucket !== rule.exportsBucket) return { kind: 'invalid', reason: 'other_bucket' };
  const path = row.path ?? '';
  if (path.trim() === '') return { kind: 'invalid', reason: 'empty_path' };
  if (path.startsWith('/')) return { kind: 'invalid', reason: 'absolute_path' };
  const segments = path.split('/');
  if (segments.some((segment) => segment === '.' || segment === '..')) return { kind: 'invalid', reason: 'dot_segment' };
  if (segments.some((segment) => segment === '')) return { kind: 'invalid', reason: 'empty_segment' };
  if (!path.startsWith(ownedPrefixOf(row, rule.ownedPathPrefix))) return { kind: 'invalid', reason: 'not_owner' };
  return { kind: 'object', path };
}
