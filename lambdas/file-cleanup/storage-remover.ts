import type { SupabaseClient } from '@supabase/supabase-js';
import { isTransientHttpError, retryTransient, type RetryOptions } from '../shared/retry';

/** Hosted Storage refuses a bulk request of more names than this, and then deletes nothing. */
export const MAX_NAMES_PER_REMOVE = 1000;

export type RemoveOutcome =
  /**
   * Storage answered with the objects it deleted: `deleted` are their names, `bytes` their
   * sizes summed. A name sent but not in `deleted` was skipped: already gone, or (a wrong key,
   * a policy) still stored; only the database's storage.objects can tell which.
   */
  | { ok: true; deleted: string[]; bytes: number }
  | { ok: false; error: string; transient: boolean };

/**
 * The file cleanup's storage port: deletes names from a bucket with one `remove()` call,
 * retrying transient failures (network, timeout, 429, 5xx) with capped, jittered back-off.
 *
 * Storage answers only the objects it deleted and skips the others silently (names already
 * absent, as after a retry of a lost answer, but also names it may not delete), so the answer
 * is the list of deleted names, not a verdict on every name sent.
 *
 * @example
 * const outcome = await removeObjects(supabase, 'exports', ['u1/a.json']);
 */
export async function removeObjects(
  supabase: SupabaseClient,
  bucket: string,
  names: string[],
  retry: RetryOptions = {},
): Promise<RemoveOutcome> {
  if (names.length === 0) return { ok: true, deleted: [], bytes: 0 };
  if (names.length > MAX_NAMES_PER_REMOVE) throw new Error(`remove() takes at most ${MAX_NAMES_PER_REMOVE} names, got ${names.length}`);
  const answer = await retryTransient(
    () => supabase.storage.from(bucket).remove(names),
    (a) => isTransientHttpError(a.error as { status?: number; statusCode?: string } | null),
    retry,
  );
  if (answer.error) {
    const error = answer.error as Error & { status?: number; statusCode?: string };
    const status = error.statusCode ?? error.status;
    return { ok: false, error: status ? `${status}: ${error.message}` : error.message, transient: isTransientHttpError(error) };
  }
  const bytes = answer.data.reduce((sum, object) => sum + Number((object.metadata as { size?: number } | null)?.size ?? 0), 0);
  return { ok: true, deleted: answer.data.map((object) => object.name), bytes };
}
