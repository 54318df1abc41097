import { execFile } from 'node:child_process';
import { statSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { JOB_NAMES, synthesizeBundles } from '../test/lib/bundles';
import type { BenchOptions } from './main';
import { print } from './support';

const NODE = join(__dirname, '..', 'node_modules', '.bin', 'node');
const run = promisify(execFile);
/** Cold imports measured per bundle; the median is printed. */
const SAMPLES = 5;

/** Each synthesized function bundle: its size and the time a fresh Node 24 process takes to load it. */
export async function bench(_options: BenchOptions): Promise<void> {
  const bundles = synthesizeBundles();
  for (const job of JOB_NAMES) {
    const file = join(bundles[job], 'index.js');
    const times: number[] = [];
    for (let i = 0; i < SAMPLES; i++) {
      const { stdout } = await run(NODE, ['-e', `const t = process.hrtime.bigint(); require(${JSON.stringify(file)}); process.stdout.write(String(Number(process.hrtime.bigint() - t) / 1e6));`]);
      times.push(Number(stdout));
    }
    times.sort((a, b) => a - b);
    print(`${job}: bundle size KB`, Math.round(statSync(file).size / 1024));
    print(`${job}: cold import ms (median of ${SAMPLES})`, times[Math.floor(SAMPLES / 2)].toFixed(0));
  }
}
