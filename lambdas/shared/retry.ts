/** Attempts of one call, the first included. */
export const RETRY_ATTEMPTS = 5;
/** First back-off; doubles each retry. */
export const RETRY_BASE_MS = 200;
/** Longest single back-off, so five attempts stay well inside a Lambda's budget (< 12 s). */
export const RETRY_CAP_MS = 5_000;

export interface RetryOptions {
  /** @default RETRY_ATTEMPTS */
  attempts?: number;
  /** @default RETRY_BASE_MS */
  baseMs?: number;
  /** @default RETRY_CAP_MS */
  capMs?: number;
  /** Waits; tests and the CLI use the real clock. @default setTimeout */
  sleep?: (ms: number) => Promise<void>;
}

const realSleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/**
 * Calls `fn` until it gives an answer that is not a transient failure, with capped exponential
 * back-off and full jitter (AWS's recommended scheme) between attempts. Returns the last answer.
 *
 * @example
 * const answer = await retryTransient(() => storage.remove(names), (a) => isTransient(a.error));
 */
export async function retryTransient<T>(fn: () => Promise<T>, isTransient: (answer: T) => boolean, options: RetryOptions = {}): Promise<T> {
  const attempts = options.attempts ?? RETRY_ATTEMPTS;
  const sleep = options.sleep ?? realSleep;
  let answer = await fn();
  for (let attempt = 1; attempt < attempts && isTransient(answer); attempt++) {
    const ceiling = Math.min(options.capMs ?? RETRY_CAP_MS, (options.baseMs ?? RETRY_BASE_MS) * 2 ** (attempt - 1));
    await sleep(Math.random() * ceiling);
    answer = await fn();
  }
  return answer;
}

/**
 * Whether a failed HTTP call may succeed if repeated: no answer at all (network error, timeout),
 * 429, or a 5xx. Storage puts the real status of client errors in the body's `statusCode`.
 */
export function isTransientHttpError(error: { status?: number; statusCode?: string } | null | undefined): boolean {
  if (!error) return false;
  const status = Number(error.statusCode ?? error.status ?? 0);
  return !status || status === 429 || status >= 500;
}
