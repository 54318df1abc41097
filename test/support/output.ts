/**
 * Reading what the code under test writes to stdout: Powertools Logger lines and Metrics EMF
 * documents (Powertools writes both through its own Console to `process.stdout`), and the CLI's
 * result lines. The one capture helper of the suite.
 *
 * What is captured still goes on to the stream underneath (the quiet test environment's buffer,
 * shown only when the test fails), so a failing test keeps its logs.
 */

/** An Embedded Metric Format document as Powertools prints it. */
export interface EmfDocument {
  _aws: { Timestamp: number; CloudWatchMetrics: { Namespace: string; Dimensions: string[][]; Metrics: { Name: string; Unit: string }[] }[] };
  [member: string]: unknown;
}

/** What was written to stdout since {@link captureStdout} started. */
export interface CapturedStdout {
  /** Non-blank lines written so far. */
  lines(): string[];
  /** The EMF documents among them, parsed. */
  emf(): EmfDocument[];
  /** Stops capturing (idempotent). */
  restore(): void;
}

/**
 * Captures stdout. With a function: while it runs, resolving to its value and the lines it
 * wrote. Without: from now until `restore()`, for code that must assert on a rejection first.
 *
 * @example
 * const { value, lines } = await captureStdout(() => runJob(job, deps, input));
 * @example
 * const out = captureStdout();
 * try { await expect(handler(event)).rejects.toThrow(); } finally { out.restore(); }
 * expect(out.emf()).toEqual([]);
 */
export function captureStdout(): CapturedStdout;
export function captureStdout<T>(fn: () => Promise<T>): Promise<{ value: T; lines: string[] }>;
export function captureStdout<T>(fn?: () => Promise<T>): CapturedStdout | Promise<{ value: T; lines: string[] }> {
  const out = startCapture();
  if (!fn) return out;
  return (async () => {
    try {
      return { value: await fn(), lines: out.lines() };
    } finally {
      out.restore();
    }
  })();
}

function startCapture(): CapturedStdout {
  const chunks: string[] = [];
  const stdout = process.stdout;
  const original = stdout.write;
  stdout.write = function write(this: unknown, chunk: string | Uint8Array, ...rest: unknown[]) {
    chunks.push(typeof chunk === 'string' ? chunk : Buffer.from(chunk).toString('utf8'));
    return (original as (...args: unknown[]) => boolean).call(stdout, chunk, ...rest);
  } as typeof stdout.write;
  let restored = false;
  const lines = () => chunks.join('').split('\n').filter((line) => line.trim() !== '');
  return {
    lines,
    emf: () => lines().filter((line) => line.includes('"_aws"')).map((line) => JSON.parse(line) as EmfDocument),
    restore: () => {
      if (restored) return;
      restored = true;
      stdout.write = original;
    },
  };
}
