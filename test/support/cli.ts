import { spawn } from 'node:child_process';
import { join } from 'node:path';

const ROOT = join(__dirname, '..', '..');
const NODE = join(ROOT, 'node_modules', '.bin', 'node');

export interface CliRun {
  code: number | null;
  stdout: string;
  stderr: string;
}

/**
 * `npx export-ops …` as a user types it, in a child process with `env` added to this one's.
 *
 * @example
 * const { code, stdout } = await exportOps(stack.env, ['report', 'volume', '--json']);
 */
export function exportOps(env: Record<string, string>, args: string[]): Promise<CliRun> {
  const child = spawn(NODE, [join(ROOT, 'cli', 'export-ops.js'), ...args], { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (chunk) => (stdout += chunk));
  child.stderr.on('data', (chunk) => (stderr += chunk));
  return new Promise((resolve) => child.once('exit', (code) => resolve({ code, stdout, stderr })));
}
