import { closeSync, fstatSync, mkdtempSync, openSync, readSync, rmSync } from 'node:fs';
import { Console } from 'node:console';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import type { EnvironmentContext, JestEnvironmentConfig } from '@jest/environment';
import type { Circus } from '@jest/types';
import { TestEnvironment as NodeEnvironment } from 'jest-environment-node';

/**
 * The test environment of the suite: Node's, made quiet. The jobs log through Powertools Logger
 * and Metrics (JSON lines and EMF documents on stdout/stderr) and the local stack through
 * console, hundreds of lines per test file that bury the one line that matters. Here, whatever
 * a test file writes to `process.stdout`, `process.stderr` or `console` is kept in a buffer, and
 * printed (to the real stderr, under the test's name) only when a test or a hook fails; a test
 * that passes drops it. Child processes that inherit the streams (CDK's esbuild bundling) write
 * to a temporary file that is printed the same way.
 *
 * Tests that read what was written (EMF, log lines) still patch or spy `process.stdout.write`
 * as before: they see the buffer's stream, not the terminal.
 *
 * Set `TEST_OUTPUT=all` to let everything through, as before.
 */
export default class QuietEnvironment extends NodeEnvironment {
  private readonly show = process.env.TEST_OUTPUT === 'all';
  private chunks: string[] = [];
  private childDir?: string;
  private childFd?: number;
  private childOffset = 0;

  constructor(config: JestEnvironmentConfig, context: EnvironmentContext) {
    super(config, context);
    if (this.show) return;
    this.childDir = mkdtempSync(join(tmpdir(), 'export-ops-test-output-'));
    this.childFd = openSync(join(this.childDir, 'children.log'), 'a+');
    const stdout = this.sink();
    const stderr = this.sink();
    const sandboxProcess = this.global.process as NodeJS.Process;
    Object.defineProperty(sandboxProcess, 'stdout', { configurable: true, enumerable: true, get: () => stdout });
    Object.defineProperty(sandboxProcess, 'stderr', { configurable: true, enumerable: true, get: () => stderr });
  }

  /** A stream that buffers what is written to it; its fd is the children's file, for `spawn(…, { stdio: [… , process.stderr] })`. */
  private sink(): Writable {
    const stream = new Writable({
      decodeStrings: false,
      write: (chunk: string | Buffer, _encoding, done) => {
        this.chunks.push(typeof chunk === 'string' ? chunk : chunk.toString('utf8'));
        done();
      },
    });
    return Object.assign(stream, { fd: this.childFd, isTTY: false });
  }

  override async setup(): Promise<void> {
    await super.setup();
    if (this.show) return;
    const [stdout, stderr] = [this.global.process.stdout, this.global.process.stderr];
    this.global.console = new Console({ stdout, stderr, colorMode: false }) as unknown as typeof this.global.console;
  }

  override async teardown(): Promise<void> {
    if (this.childFd !== undefined) closeSync(this.childFd);
    if (this.childDir) rmSync(this.childDir, { recursive: true, force: true });
    this.chunks = [];
    await super.teardown();
  }

  handleTestEvent(event: Circus.Event): void {
    if (this.show) return;
    if (event.name === 'test_done') {
      if (event.test.errors.length > 0) this.flush(`test "${fullName(event.test)}" failed`);
      else this.drop();
    } else if (event.name === 'hook_failure') {
      const block = event.describeBlock && blockName(event.describeBlock);
      const where = event.test ? `"${fullName(event.test)}"` : block ? `"${block}"` : 'the file';
      this.flush(`${event.hook.type} hook of ${where} failed`);
    }
  }

  /** Forgets what was written since the last test ended. */
  private drop(): void {
    this.chunks = [];
    this.childOffset = this.childSize();
  }

  /** Prints what was written since the last test ended, under a heading, to the real stderr. */
  private flush(heading: string): void {
    const own = this.chunks.join('');
    const children = this.readChildren();
    this.drop();
    if (!own && !children) return;
    const body = [own, children && `--- child processes ---\n${children}`].filter(Boolean).join('\n');
    process.stderr.write(`\n=== output while ${heading} ===\n${body}${body.endsWith('\n') ? '' : '\n'}=== end of output ===\n`);
  }

  private childSize(): number {
    return this.childFd === undefined ? 0 : fstatSync(this.childFd).size;
  }

  private readChildren(): string {
    const size = this.childSize();
    if (this.childFd === undefined || size <= this.childOffset) return '';
    const buffer = Buffer.alloc(size - this.childOffset);
    readSync(this.childFd, buffer, 0, buffer.length, this.childOffset);
    return buffer.toString('utf8');
  }
}

function blockName(block: Circus.DescribeBlock): string {
  const names: string[] = [];
  for (let b: Circus.DescribeBlock | undefined = block; b && b.name !== 'ROOT_DESCRIBE_BLOCK'; b = b.parent) names.unshift(b.name);
  return names.join(' › ');
}

function fullName(test: Circus.TestEntry): string {
  const parent = blockName(test.parent);
  return parent ? `${parent} › ${test.name}` : test.name;
}
