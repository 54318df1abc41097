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

/** Captures in progress, oldest first. Only the newest records a write, so overlapping captures (runs under Promise.all) do not count one line twice. */
const active: string[][] = [];
let installed: { stream: NodeJS.WriteStream; write: NodeJS.WriteStream['write'] } | undefined;

function startCapture(): CapturedStdout {
  const chunks: string[] = [];
  if (!installed) {
    const stream = process.stdout;
    const write = stream.write;
    installed = { stream, write };
    stream.write = function capturing(chunk: string | Uint8Array, ...rest: unknown[]) {
      active.at(-1)?.push(typeof chunk === 'string' ? chunk : Buffer.from(chunk).toString('utf8'));
      return (write as (...args: unknown[]) => boolean).call(stream, chunk, ...rest);
    } as typeof stream.write;
  }
  active.push(chunks);
  const lines = () => chunks.join('').split('\n').filter((line) => line.trim() !== '');
  return {
    lines,
    emf: () => lines().filter((line) => line.includes('"_aws"')).map((line) => JSON.parse(line) as EmfDocument),
    restore: () => {
      const at = active.indexOf(chunks);
      if (at < 0) return;
      active.splice(at, 1);
      if (active.length === 0 && installed) {
        installed.stream.write = installed.write;
        installed = undefined;
      }
    },
  };
}
