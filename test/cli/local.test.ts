import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { createClient } from '@supabase/supabase-js';
import { HeadBucketCommand } from '@aws-sdk/client-s3';
import { createS3Client } from '../../lambdas/shared/s3';

const ROOT = join(__dirname, '..', '..');
const NODE = join(ROOT, 'node_modules', '.bin', 'node');

describe('npx export-ops local', () => {
  test('prints sourceable KEY=value lines for a working stack, and stops on SIGTERM', async () => {
    const args = [join(ROOT, 'cli', 'export-ops.js'), 'local', '--seed', '50', '--jwt-secret', 'a-local-test-secret-of-32-characters'];
    if (process.env.DATABASE_URL) args.push('--database-url', process.env.DATABASE_URL);
    const child = spawn(NODE, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk) => (stdout += chunk));
    child.stderr.on('data', (chunk) => (stderr += chunk));
    const exited = new Promise<number | null>((resolve) => child.once('exit', resolve));
    try {
      const until = Date.now() + 45_000;
      while (!stderr.includes('local stack running')) {
        if (Date.now() > until || child.exitCode !== null) throw new Error(`stack did not start: ${stderr}`);
        await new Promise((r) => setTimeout(r, 50));
      }
      const lines = stdout.trim().split('\n');
      for (const line of lines) expect(line).toMatch(/^[A-Z0-9_]+=[^\s'"$`]+$/); // safe for `. ./file` as is
      const env = Object.fromEntries(lines.map((l) => [l.slice(0, l.indexOf('=')), l.slice(l.indexOf('=') + 1)]));
      expect(Object.keys(env)).toEqual(expect.arrayContaining([
        'SUPABASE_URL', 'SUPABASE_ANON_KEY', 'SUPABASE_SERVICE_ROLE_KEY', 'AWS_ENDPOINT_URL_S3', 'ARCHIVE_BUCKET',
      ]));
      const service = createClient(env.SUPABASE_URL, env.SUPABASE_SERVICE_ROLE_KEY, { auth: { persistSession: false } });
      const seeded = await service.from('export_logs').select('id', { count: 'exact', head: true });
      expect(seeded.count).toBeGreaterThanOrEqual(50);
      const anon = createClient(env.SUPABASE_URL, env.SUPABASE_ANON_KEY, { auth: { persistSession: false } });
      expect((await anon.from('export_logs').select('id')).data).toEqual([]);
      await createS3Client(env).send(new HeadBucketCommand({ Bucket: env.ARCHIVE_BUCKET }));
    } finally {
      child.kill('SIGTERM');
    }
    expect(await exited).toBe(0);
  });

  test('a bad option is refused with exit 2 and a message naming it', async () => {
    const child = spawn(NODE, [join(ROOT, 'cli', 'export-ops.js'), 'local', '--port', 'abc'], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (chunk) => (stderr += chunk));
    const code = await new Promise((resolve) => child.once('exit', resolve));
    expect(code).toBe(2); // bad usage: nothing started
    expect(stderr).toContain('--port must be a whole number, got "abc"');
  });
});
