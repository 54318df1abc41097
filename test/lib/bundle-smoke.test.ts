import { execFile } from 'node:child_process';
import { statSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import type { LocalStack } from '../../local/stack';
import { startTestStack } from '../support/stack';
import { JOB_NAMES, synthesizeBundles } from './bundles';

const NODE = join(__dirname, '..', '..', 'node_modules', '.bin', 'node');
const run = promisify(execFile);

/** Loads a bundle as Lambda would (CommonJS `index.handler`) and invokes it with one event. */
const INVOKE = `
  const { handler } = require(process.argv[1] + '/index.js');
  handler(JSON.parse(process.argv[2]), { getRemainingTimeInMillis: () => 600000 })
    .then((result) => process.stdout.write('\\nRESULT ' + JSON.stringify(result) + '\\n'))
    .catch((error) => { process.stderr.write(String(error && error.stack || error)); process.exit(1); });`;

describe('synthesized function bundles', () => {
  let stack: LocalStack;
  let bundles: Record<string, string>;
  beforeAll(async () => {
    bundles = synthesizeBundles();
    stack = await startTestStack();
  }, 120_000);
  afterAll(() => stack.stop());

  test.each(JOB_NAMES)('%s loads in a separate Node 24 process and runs a dry run against the local stack', async (job) => {
    expect(statSync(join(bundles[job], 'index.js')).size).toBeGreaterThan(0);
    const { stdout } = await run(NODE, ['--enable-source-maps', '-e', INVOKE, bundles[job], JSON.stringify({ dryRun: true, scheduledTime: new Date().toISOString() })], {
      env: { PATH: process.env.PATH, ...stack.env, AWS_REGION: 'eu-west-1' },
    });
    const line = stdout.split('\n').find((l) => l.startsWith('RESULT '));
    expect(line).toBeDefined();
    const result = JSON.parse(line!.slice('RESULT '.length));
    expect(result).toMatchObject({ dry_run: true, timestamp: expect.any(String), duration_ms: expect.any(Number) });
  });
});
