import { readPage, SupabaseLogStore } from '../../lambdas/log-cleanup/parts-store';
import type { ArchivePart, Page, RunParts } from '../../lambdas/log-cleanup/ports';
import { createServiceClient, must, type ServiceClient, SupabaseRunLedger } from '../../lambdas/shared/supabase';
import type { LocalStack } from '../../local/stack';
import { databaseMode, startTestStack } from '../support/stack';

/**
 * A part's page as the job reads it: raw text through the media-type handler
 * (export_ops_log_cleanup_page_text, `Accept: text/plain`), read as bytes,, and the JSON page kept for Lambdas
 * deployed before 20261202000100, which must answer the same rows, byte for byte.
 */
const USER = '00000000-0000-0000-0000-0000000000f3';
const DAY_MS = 86_400_000;
/** What users type into a config: newlines, quotes, backslashes, non-ASCII, a lone line separator. */
const AWKWARD = 'line one\nline "two"\\ \u00e9\u6f22\u{1f600}\u2028end';

describe(`the log cleanup's page as text on ${databaseMode}`, () => {
  let stack: LocalStack;
  let client: ServiceClient;
  let parts: RunParts;
  let part: ArchivePart;
  let runId: string;

  beforeAll(async () => {
    stack = await startTestStack();
    await stack.db.query(`insert into auth.users (id) values ($1) on conflict do nothing`, [USER]);
    const createdAt = new Date(Date.now() - 60 * DAY_MS);
    for (let i = 0; i < 5; i += 1) {
      const at = new Date(createdAt.getTime() + i * 1000).toISOString();
      await stack.db.query(
        `insert into public.export_logs (export_id, user_id, "timestamp", format, config, conversation_count, status, created_at, updated_at)
         values (gen_random_uuid(), $1, $2, 'json', $3, 1, 'failed', $2, $2)`, [USER, at, JSON.stringify({ note: `${AWKWARD} ${i}` })]);
    }
    client = createServiceClient(stack.supabase.url, stack.serviceRoleKey);
    runId = await new SupabaseRunLedger(client).start({ job: 'log-cleanup', scheduledTime: new Date(), dryRun: false });
    parts = new SupabaseLogStore(client).forRun(runId, 300);
    const claim = await parts.claim({ cutoff: new Date(Date.now() - 30 * DAY_MS), userId: null, prefix: 'export-logs', partRows: 10, after: null });
    if (claim.kind !== 'part') throw new Error(`expected a part, got ${claim.kind}`);
    part = claim.part;
  });
  afterAll(() => stack?.stop());

  const pages = async (pageRows: number) => {
    const read: Page[] = [];
    for await (const page of parts.rows(part.part_key, pageRows)) read.push(page);
    return read;
  };

  test('pages hold every row once, in order, each line the row as the database wrote it', async () => {
    const read = await pages(2);
    expect(read.map((p) => p.rows)).toEqual([2, 2, 1]);
    const lines = read.flatMap((p) => p.ndjson.toString('utf8').split('\n').slice(0, -1));
    const rows = lines.map((line) => JSON.parse(line) as { id: string; config: { note: string } });
    expect(rows.map((r) => r.config.note)).toEqual([0, 1, 2, 3, 4].map((i) => `${AWKWARD} ${i}`));
    const { rows: expected } = await stack.db.query<{ line: string }>(
      `select row_to_json(e)::text as line from public.export_logs e where user_id = $1 order by created_at, id`, [USER]);
    // The job's lines carry one more field (finished_at); the rest is the database's own text.
    expect(lines.map((l) => l.replace(/,"finished_at":[^,}]*\}$/, '}'))).toEqual(expected.map((r) => r.line));
    expect(read.every((p) => p.ndjson.at(-1) === 0x0a)).toBe(true);
  });

  test('the JSON page, kept for older Lambdas, answers what the text page does', async () => {
    const args = { p_run_id: runId, p_part_key: part.part_key, p_after_created_at: null, p_after_id: null, p_limit: 3, p_lease_seconds: 300 };
    const text = must<Buffer>('text page', await client.rpcMedia('export_ops_log_cleanup_page_text', args, 'text/plain')).toString('utf8');
    const json = must<{ rows: number; ndjson: string; checksum: string; last_created_at: string; last_id: string }>(
      'json page', await client.rpc('export_ops_log_cleanup_page', args));
    const [header, ...rest] = text.split('\n');
    expect(JSON.parse(header)).toEqual({ rows: json.rows, checksum: json.checksum, last_created_at: json.last_created_at, last_id: json.last_id });
    expect(rest.join('\n')).toBe(json.ndjson);
    expect(json.rows).toBe(3);
  });

  test('a page of a part the run does not hold is refused, as before', async () => {
    const answer = await client.rpcMedia('export_ops_log_cleanup_page_text', {
      p_run_id: '00000000-0000-0000-0000-000000000000', p_part_key: part.part_key, p_after_created_at: null, p_after_id: null, p_limit: 3, p_lease_seconds: 300,
    }, 'text/plain');
    expect(answer.data).toBeNull();
    expect(answer.error?.message).toMatch(/part/);
  });
});

describe('a page answer that is not one', () => {
  test.each([
    ['no header line', '{"rows":1,"checksum":"1"}'],
    ['a header that is not JSON', '<html>gateway</html>\n{"id":1}\n'],
    ['a header without rows', '{"checksum":"1"}\n'],
    ['an empty answer', ''],
  ])('%s is refused, naming what came', (_, body) => {
    expect(() => readPage(Buffer.from(body))).toThrow(/answered no page header/);
  });
  test('a header and its lines are split on the first newline, the lines left as bytes', () => {
    const page = readPage(Buffer.from('{"rows":1,"checksum":"7","last_created_at":"t","last_id":"i"}\n{"a":"\u00e9"}\n'));
    expect(page).toEqual({ rows: 1, checksum: '7', lastCreatedAt: 't', lastId: 'i', ndjson: Buffer.from('{"a":"\u00e9"}\n') });
  });
});
