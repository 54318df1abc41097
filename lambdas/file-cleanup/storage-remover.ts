import type { SupabaseClient } from '@supabase/supabase-js';
import { isTransientHttpError, retryTransient, type RetryOptions } from '../shared/retry';
import { MAX_NAMES_PER_REMOVE, type ObjectRemover, type RemoveOutcome } from './ports';

export { MAX_NAMES_PER_REMOVE, type RemoveOutcome } from './ports';

/**
 * The file cleanup's storage port (ObjectRemover) over supabase-js Storage.
 *
 * @example
 * const storage = new SupabaseObjectRemover(supabase);
 * const outcome = await storage.remove('exports', ['u1/a.json']);
 */
export class SupabaseObjectRemover implements ObjectRemover {
  constructor(readonly client: SupabaseClient, private readonly retry: RetryOptions = {}) {}

  remove(bucket: string, names: string[]): Promise<RemoveOutcome> {
    return removeObjects(this.client, bucket, names, this.retry);
  }
}

/**
 * Deletes names from a bucket with one `remove()` call,
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
