import type { ProgressSink } from '../lambdas/shared/ports';

/** Redraws at most this often: a counter, not a flood. */
const REDRAW_MS = 250;

/**
 * A one-line counter with rate and ETA on a terminal's stderr, e.g.
 * `file-cleanup  12,000 / 48,210 files  2,310/s  ETA 16 s`. Returns undefined when stderr is
 * not a terminal (a pipe, a file, CI): then nothing is ever drawn.
 *
 * @example
 * const progress = terminalProgress('file-cleanup', 'files', dueCount);
 * const deps = await createJobDeps(def, { progress });
 * // … run …
 * progress?.done();
 */
export function terminalProgress(label: string, unit: string, total: number | undefined, stream: NodeJS.WriteStream = process.stderr): (ProgressSink & { done(): void }) | undefined {
  if (!stream.isTTY) return undefined;
  const started = Date.now();
  let count = 0;
  let drawn = 0;
  const draw = () => {
    const seconds = (Date.now() - started) / 1000;
    const rate = seconds > 0 ? count / seconds : 0;
    const of = total !== undefined ? ` / ${total.toLocaleString('en-US')}` : '';
    const eta = total !== undefined && rate > 0 && total > count ? `  ETA ${Math.ceil((total - count) / rate)} s` : '';
    stream.write(`\r\x1b[K${label}  ${count.toLocaleString('en-US')}${of} ${unit}  ${Math.round(rate).toLocaleString('en-US')}/s${eta}`);
    drawn = Date.now();
  };
  return {
    advance(n: number) {
      count += n;
      if (Date.now() - drawn >= REDRAW_MS) draw();
    },
    done() {
      if (drawn) stream.write('\r\x1b[K');
    },
  };
}
