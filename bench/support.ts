import { createScratchDatabase } from '../local/db/scratch';
import { startLocalStack, type LocalStack, type LocalStackOptions } from '../local/stack';

/** A local stack on a scratch database of the benchmark server, dropped on stop. */
export async function startBenchStack(serverUrl: string, options: LocalStackOptions = {}): Promise<LocalStack> {
  const scratch = await createScratchDatabase(serverUrl, 'export_ops_bench');
  const stack = await startLocalStack({ ...options, databaseUrl: scratch.url });
  return { ...stack, stop: async () => { await stack.stop(); await scratch.drop(); } };
}

/** Samples this process's resident memory every 50 ms; `peakMb()` reads the highest seen. */
export function trackPeakRss() {
  let peak = process.memoryUsage().rss;
  const timer = setInterval(() => { peak = Math.max(peak, process.memoryUsage().rss); }, 50);
  timer.unref();
  return {
    reset() { peak = process.memoryUsage().rss; },
    peakMb() { peak = Math.max(peak, process.memoryUsage().rss); return Math.round(peak / 1024 / 1024); },
    stop() { clearInterval(timer); },
  };
}

/** One figure per line, label padded so columns line up. */
export const print = (label: string, value: string | number) => process.stdout.write(`${label.padEnd(60)} ${value}\n`);
