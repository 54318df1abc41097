import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { seedExports } from '../../local/seed';
import type { LocalStack } from '../../local/stack';
import { exportOps } from '../support/cli';
import { databaseMode, startTestStack } from '../support/stack';

/**
 * What a script piping the CLI relies on: stdout holds the answer alone (one JSON document with
 * --json), log lines go to stderr as JSON, EMF only where asked, and exit codes say what
 * happened. Run as a user runs it: a child process against the local stack.
 */
describe(`CLI streams, summaries and exit codes (${databaseMode})`, () => {
  let stack: LocalStack;
  const jsonLines = (text: string) => text.split('\n').filter(Boolean).map((line) => JSON.parse(line) as Record<string, unknown>);
  beforeAll(async () => {
    stack = await startTestStack();
    await seedExports({ db: stack.db, storageDir: stack.storageDir, supabaseUrl: stack.supabase.url }, { count: 800, seed: 3 });
  });
  afterAll(() => stack.stop());

  test('exit 3 when a job stops with work left (--max-files with more due), and the summary says to run again', async () => {
    const { code, stdout } = await exportOps(stack.env, ['run', 'file-cleanup', '--max-files', '5']);
    expect(code).toBe(3);
    expect(stdout).toMatch(/^file-cleanup: stopped with work left in [\d.]+ s\n/);
    expect(stdout).toMatch(/\n {2}work left: run again\n$/);
  });

  test('file-cleanup: the summary in words matches what left Storage, logs are JSON on stderr', async () => {
    const objects = async () => (await stack.db.query<{ n: number }>(`select count(*)::int as n from storage.objects`)).rows[0].n;
    const before = await objects();
    const { code, stdout, stderr } = await exportOps(stack.env, ['run', 'file-cleanup']);
    expect(code).toBe(0);
    const removed = before - (await objects());
    expect(removed).toBeGreaterThan(0);
    expect(stdout).toMatch(/^file-cleanup: done in [\d.]+ s\n/);
    expect(stdout).toMatch(new RegExp(`\\n {2}files deleted +${removed.toLocaleString('en-US')}\\n`));
    expect(stdout).toMatch(/\n {2}bytes reclaimed +[\d.]+ (KiB|MiB|GiB)\n/);
    expect(stdout).toMatch(/\n {2}rows skipped +\d+\n/);
    expect(stdout).not.toMatch(/"_aws"|"level"/);
    const logs = jsonLines(stderr);
    expect(logs.some((l) => l.message === 'file-cleanup finished')).toBe(true);
  });

  test.each([
    ['file-cleanup', ['--dry-run']],
    ['log-cleanup', []],
    ['metrics-aggregate', ['--dry-run']],
  ])('%s --json: stdout is exactly one JSON document, no EMF anywhere', async (job, extra) => {
    const { code, stdout, stderr } = await exportOps(stack.env, ['run', job, ...extra, '--json']);
    expect(code).toBe(0);
    const result = JSON.parse(stdout) as Record<string, unknown>;
    expect(result).toHaveProperty('duration_ms');
    if (job === 'log-cleanup') {
      // The parts it archived, by their S3 keys (what the summary in words lists).
      expect(result.parts).toBeGreaterThan(0);
      expect(result.archived_keys).toHaveLength(Math.min(result.parts as number, 20));
      for (const key of result.archived_keys as string[]) expect(key).toMatch(/^export-logs\/export_logs\/year=\d{4}\/month=\d\d\/.*\.ndjson\.gz$/);
    }
    expect(stderr).not.toContain('"_aws"');
  });

  test('status --json is one JSON document too', async () => {
    const { code, stdout } = await exportOps(stack.env, ['status', '--json']);
    expect(code).toBe(0);
    expect(JSON.parse(stdout)).toHaveProperty('files');
  });

  test('metrics-aggregate with --metrics-file writes the EMF there and nowhere else; --quiet silences the logs', async () => {
    const file = join(mkdtempSync(join(tmpdir(), 'export-ops-emf-')), 'emf.ndjson');
    const { code, stdout, stderr } = await exportOps(stack.env, ['run', 'metrics-aggregate', '--metrics-file', file, '--json', '--quiet']);
    expect({ code, stderr }).toEqual({ code: 0, stderr: '' });
    const result = JSON.parse(stdout) as { windows_emitted: number; documents: number };
    expect(result.windows_emitted).toBeGreaterThan(0);
    const docs = jsonLines(readFileSync(file, 'utf8'));
    expect(docs.filter((d) => d.window_start).length).toBe(result.documents);
    expect(docs.every((d) => typeof d._aws === 'object')).toBe(true);
  });

  test('a real metrics-aggregate run with nowhere to send its EMF is refused with exit 2, recording nothing', async () => {
    const runs = async () => (await stack.db.query<{ n: number }>(`select count(*)::int as n from export_ops.runs`)).rows[0].n;
    const before = await runs();
    const { code, stdout, stderr } = await exportOps(stack.env, ['run', 'metrics-aggregate']);
    expect({ code, stdout }).toEqual({ code: 2, stdout: '' });
    expect(stderr).toMatch(/--metrics-file FILE \(or --emit-metrics\), or use --dry-run/);
    expect(await runs()).toBe(before);
  });

  test('exit 1 when the job fails (nothing listens at SUPABASE_URL), exit 2 on bad configuration', async () => {
    const down = await exportOps({ ...stack.env, SUPABASE_URL: 'http://127.0.0.1:9' }, ['run', 'file-cleanup', '--json']);
    expect({ code: down.code, stdout: down.stdout }).toEqual({ code: 1, stdout: '' });
    const bad = await exportOps({ ...stack.env, FILE_GRACE_HOURS: '-3' }, ['run', 'file-cleanup']);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/FILE_GRACE_HOURS/);
  });

  test('no progress output when stderr is not a terminal', async () => {
    const { stderr } = await exportOps(stack.env, ['run', 'file-cleanup', '--dry-run', '--quiet']);
    expect(stderr).toBe('');
  });
});
