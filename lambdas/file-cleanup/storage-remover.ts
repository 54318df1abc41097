import type { SupabaseClient } from '@supabase/supabase-js';
import { isTransientHttpError, retryTransient, type RetryOptions } from '../shared/retry';

/** Hosted Storage refuses a bulk request of more names than this, and then deletes nothing. */
export const MAX_NAMES_PER_REMOVE = 1000;

export type RemoveOutcome =
  /** Storage answered: every name sent is now absent. `bytes` sums the objects it actually deleted. */
  | { ok: true; deleted: number; bytes: number }
  | { ok: false; error: string; transient: boolean };

/**
 * The file cleanup's storage port: deletes names from a bucket with one `remove()` call,
 * retrying transient failures (network, timeout, 429, 5xx) with capped, jittered back-off.
 *
 * A call that succeeds means every name in it is gone: Storage answers only the objects it
 * deleted and skips names already absent (a retry after a lost answer finds them gone).
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
  if (names.length === 0) return { ok: true, deleted: 0, bytes: 0 };
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
  return { ok: true, deleted: answer.data.length, bytes };
}
