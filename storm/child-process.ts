import { spawn } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { build } from 'esbuild';

const ROOT = join(__dirname, '..');
/** Node 24 from node_modules (the system node may be older). */
const NODE = join(ROOT, 'node_modules', '.bin', 'node');

let bundled: Promise<string> | undefined;
/**
 * storm/child.ts bundled once per storm, as the Lambda bundles are: a bundle starts in about
 * half the time of transpiling TypeScript on each start (`--import tsx`), so more of each
 * child's life is work and more random kills land in it.
 */
function childBundle(): Promise<string> {
  bundled ??= (async () => {
    const outfile = join(mkdtempSync(join(tmpdir(), 'export-ops-storm-')), 'child.js');
    await build({ entryPoints: [join(__dirname, 'child.ts')], bundle: true, platform: 'node', target: 'node24', format: 'cjs', outfile, logLevel: 'warning' });
    return outfile;
  })();
  return bundled;
}

export interface ChildRun {
  code: number | null;
  signal: NodeJS.Signals | null;
  /** Everything the child printed, a killed child's included (up to its death). */
  stdout: string;
  stderr: string;
  /** Set when a kill was scheduled and landed before the child exited. */
  killed: boolean;
  /** The job's result (last stdout line), when it finished. */
  result?: { more?: boolean } & Record<string, unknown>;
  elapsedMs: number;
}

/**
 * When to SIGKILL a child: `afterMs` after the spawn or, with `anchor`, `afterMs` after the
 * anchor resolves (the storm anchors on the child's run record appearing, so the kill lands at
 * the same point of the work however long start-up took on a loaded machine).
 */
export interface KillPlan {
  afterMs: number;
  anchor?: Promise<unknown>;
}

/**
 * Runs storm/child.ts for one job; with a kill plan, SIGKILLs it at the planned time (unless
 * it exited first).
 */
export async function runChild(job: string, input: unknown, env: NodeJS.ProcessEnv, kill?: KillPlan): Promise<ChildRun> {
  const script = await childBundle();
  return new Promise((resolve, reject) => {
    const started = Date.now();
    const child = spawn(NODE, [script, job, JSON.stringify(input)], { cwd: ROOT, env, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    let killed = false;
    let exited = false;
    let timer: NodeJS.Timeout | undefined;
    child.stdout.setEncoding('utf8').on('data', (d: string) => { stdout += d; });
    child.stderr.setEncoding('utf8').on('data', (d: string) => { stderr += d; });
    const armKill = () => {
      if (exited || !kill) return;
      timer = setTimeout(() => {
        if (child.exitCode === null && child.signalCode === null) {
          killed = true;
          child.kill('SIGKILL');
        }
      }, kill.afterMs);
    };
    if (kill?.anchor) kill.anchor.then(armKill, () => undefined);
    else armKill();
    child.on('error', reject);
    child.on('close', (code, signal) => {
      exited = true;
      if (timer) clearTimeout(timer);
      let result: ChildRun['result'];
      const last = stdout.trim().split('\n').pop() ?? '';
      try {
        const parsed = JSON.parse(last) as { result?: ChildRun['result'] };
        result = parsed.result;
      } catch {
        result = undefined;
      }
      resolve({ code, signal, stdout, stderr, killed, result, elapsedMs: Date.now() - started });
    });
  });
}

/** Seeded PRNG (mulberry32): the same seed gives the same kill schedule. */
export function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
