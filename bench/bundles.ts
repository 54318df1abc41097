import { execFile } from 'node:child_process';
import { statSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { JOB_PROCESS_ENV } from '../lib/scheduled-job';
import { bundleBytesByPackage, JOB_NAMES, synthesizeBundles } from '../test/lib/bundles';
import type { BenchOptions } from './main';
import { print, spread } from './support';

const NODE = join(__dirname, '..', 'node_modules', '.bin', 'node');
const run = promisify(execFile);
/** Fresh processes per figure; median, min and max are printed. */
const SAMPLES = 5;
/** Packages listed per bundle. */
const TOP_PACKAGES = 8;

/** Wall time of one fresh Node process running `code` as Lambda starts a job's (JOB_PROCESS_ENV), and what it printed. */
async function timedProcess(code: string): Promise<{ wallMs: number; stdout: string }> {
  const started = performance.now();
  const { stdout } = await run(NODE, ['-e', code], { env: { ...process.env, ...JOB_PROCESS_ENV } });
  return { wallMs: performance.now() - started, stdout };
}

/**
 * Each synthesized function bundle: its size, the bytes per package (esbuild's metafile), and
 * the time a fresh Node 24 process takes to load it: `require` alone, measured inside the
 * process, and the whole process's wall time beside a bare `node -e ''` (the floor), all in
 * this one run so a slow machine shows in the floor too.
 */
export async function bench(_options: BenchOptions): Promise<void> {
  const bundles = synthesizeBundles();
  const floor: number[] = [];
  for (let i = 0; i < SAMPLES; i++) floor.push((await timedProcess('')).wallMs);
  print(`floor: node -e '' process wall ms, median [min–max] of ${SAMPLES}`, spread(floor));
  for (const job of JOB_NAMES) {
    const file = join(bundles[job], 'index.js');
    const requireMs: number[] = [];
    const requireCpuMs: number[] = [];
    const wallMs: number[] = [];
    for (let i = 0; i < SAMPLES; i++) {
      const sample = await timedProcess(
        `const c = process.cpuUsage(); const t = process.hrtime.bigint(); require(${JSON.stringify(file)}); ` +
          `const u = process.cpuUsage(c); process.stdout.write(JSON.stringify([Number(process.hrtime.bigint() - t) / 1e6, (u.user + u.system) / 1e3]));`,
      );
      const [ms, cpuMs] = JSON.parse(sample.stdout) as [number, number];
      requireMs.push(ms);
      requireCpuMs.push(cpuMs);
      wallMs.push(sample.wallMs);
      floor.push((await timedProcess('')).wallMs);
    }
    print(`${job}: bundle size KB`, Math.round(statSync(file).size / 1024));
    print(`${job}: cold import (require) ms, median [min–max] of ${SAMPLES}`, spread(requireMs));
    // CPU time of the same require: what a busy machine's other processes inflate least.
    print(`${job}: cold import CPU ms (user+system), median [min–max]`, spread(requireCpuMs));
    print(`${job}: process wall ms with the import, median [min–max]`, `${spread(wallMs)}   (floor ${spread(floor.slice(-SAMPLES))})`);
    for (const { pkg, bytes } of bundleBytesByPackage(bundles[job]).slice(0, TOP_PACKAGES)) {
      print(`${job}:   KB from ${pkg}`, (bytes / 1024).toFixed(0));
    }
  }
}
