import { createClient, type SupabaseClient } from '@supabase/supabase-js';
import { fileCleanupJob } from '../../../lambdas/file-cleanup/job';
import { runJob } from '../../../lambdas/shared/job';
import { signJwt } from '../../../local/http/jwt';
import type { LocalStack } from '../../../local/stack';
import { jobDepsFor } from '../../support/jobs';
import { databaseMode, startTestStack } from '../../support/stack';
import { objectExists } from './fixtures';

const now = new Date('2026-11-29T02:00:00Z');
const ATTACKER = '00000000-0000-0000-0000-00000000a77a';
const VICTIM = '00000000-0000-0000-0000-00000000b1c7';
const VICTIM_FILE = `${VICTIM}/report.json`;

/**
 * A signed-in app user (role `authenticated`, their own JWT, through the REST API as the app's
 * browser client would call it) tries to make the service-role file cleanup delete another
 * user's file. Every column of export_logs is theirs to write; none of it may steer a delete
 * outside their own folder.
 */
describe(`hostile app users against the file cleanup, on ${databaseMode}`, () => {
  let stack: LocalStack;
  let attacker: SupabaseClient;
  let sentNames: string[] = [];

  beforeAll(async () => {
    stack = await startTestStack();
    stack.supabase.observe(({ method, path, body }) => {
      if (method === 'DELETE' && path === '/storage/v1/object/exports') sentNames.push(...JSON.parse(body.toString()).prefixes);
    });
    await stack.db.query(`insert into auth.users (id) values ($1), ($2) on conflict do nothing`, [ATTACKER, VICTIM]);
    const exp = Math.floor(Date.now() / 1000) + 3600;
    attacker = createClient(stack.supabase.url, stack.anonKey, {
      auth: { persistSession: false },
      global: { headers: { Authorization: `Bearer ${signJwt({ role: 'authenticated', sub: ATTACKER, exp }, stack.jwtSecret)}` } },
    });
    const service = createClient(stack.supabase.url, stack.serviceRoleKey, { auth: { persistSession: false } });
    const { error } = await service.storage.from('exports').upload(VICTIM_FILE, Buffer.from('the victim data'));
    if (error) throw error;
  });
  beforeEach(() => {
    sentNames = [];
  });
  afterAll(() => stack.stop());

  /** An expired, completed export row as the attacker can write it, with extra columns of their choosing. */
  const expiredRow = (fileUrl: string, extra: Record<string, unknown> = {}) => ({
    export_id: crypto.randomUUID(), user_id: ATTACKER, timestamp: '2026-11-27T00:00:00Z', format: 'json', config: {},
    conversation_count: 1, file_size: 15, status: 'completed', file_url: fileUrl,
    expires_at: '2026-11-28T00:00:00Z', created_at: '2026-11-27T00:00:00Z', ...extra,
  });
  const insertAsAttacker = async (row: Record<string, unknown>) => {
    const { error } = await attacker.from('export_logs').insert(row);
    if (error) throw new Error(error.message);
    return row.export_id as string;
  };
  const cleanUp = async () => runJob(fileCleanupJob, await jobDepsFor(stack, 'file-cleanup'), { scheduledTime: now.toISOString() });
  const base = () => stack.supabase.url;

  test.each([
    ['a Storage URL of another host', () => `https://attacker.example/storage/v1/object/public/exports/${VICTIM_FILE}`, 'foreign_origin'],
    ['the Storage path inside a query string', () => `https://attacker.example/x?u=${base()}/storage/v1/object/public/exports/${VICTIM_FILE}`, 'foreign_origin'],
    ['the victim folder named directly', () => `${base()}/storage/v1/object/public/exports/${VICTIM_FILE}`, 'not_owner'],
    ['a %2F-encoded slash into the victim folder', () => `${base()}/storage/v1/object/public/exports/${VICTIM}%2Freport.json`, 'not_owner'],
    ['%2F-encoded .. out of the own folder', () => `${base()}/storage/v1/object/public/exports/${ATTACKER}%2F..%2F${VICTIM}%2Freport.json`, 'dot_segment'],
  ])('%s: flagged, reported, never sent to Storage', async (_name, url, reason) => {
    const exportId = await insertAsAttacker(expiredRow(url()));
    const result = await cleanUp();
    expect(sentNames).toEqual([]);
    expect(result.skipped.rows).toContainEqual({ export_id: exportId, reason });
    expect(await objectExists(stack, VICTIM_FILE)).toBe(true);
  });

  test('the columns the jobs rely on cannot be written by a client: not on insert, not on update', async () => {
    const ownUrl = `${base()}/storage/v1/object/public/exports/${ATTACKER}/mine.json`;
    for (const forged of [{ storage_bucket: 'exports', storage_path: VICTIM_FILE }, { finished_at: '2020-01-01T00:00:00Z' }]) {
      await expect(insertAsAttacker(expiredRow(ownUrl, forged))).rejects.toThrow(/column|schema cache/i);
    }
    const exportId = await insertAsAttacker(expiredRow(ownUrl, { status: 'processing' }));
    const { error } = await attacker.from('export_logs').update({ storage_path: VICTIM_FILE }).eq('export_id', exportId);
    expect(error?.message).toMatch(/column|schema cache/i);
    // Nor through export-ops' own table or functions.
    const direct = await attacker.schema('export_ops' as 'public').from('exports').update({ storage_path: VICTIM_FILE }).eq('user_id', ATTACKER);
    expect(direct.error).not.toBeNull();
    const rpc = await attacker.rpc('export_ops_backfill_step', { p_limit: 1 });
    expect(rpc.error).not.toBeNull();
  });

  test("an update of one's own row to point at another user's file is flagged like an insert", async () => {
    const exportId = await insertAsAttacker(expiredRow(`${base()}/storage/v1/object/public/exports/${ATTACKER}/gone.json`, { status: 'processing' }));
    const { error } = await attacker.from('export_logs')
      .update({ status: 'completed', file_url: `${base()}/storage/v1/object/sign/exports/${VICTIM_FILE}?token=x` })
      .eq('export_id', exportId);
    expect(error).toBeNull();
    const result = await cleanUp();
    expect(sentNames).toEqual([]);
    expect(result.skipped.rows).toContainEqual({ export_id: exportId, reason: 'not_owner' });
    expect(await objectExists(stack, VICTIM_FILE)).toBe(true);
  });

  test("the attacker's own expired file is still cleaned: the rule refuses only what is not theirs", async () => {
    const service = createClient(stack.supabase.url, stack.serviceRoleKey, { auth: { persistSession: false } });
    await service.storage.from('exports').upload(`${ATTACKER}/own.json`, Buffer.from('own'));
    const exportId = await insertAsAttacker(expiredRow(`${base()}/storage/v1/object/public/exports/${ATTACKER}/own.json`));
    const result = await cleanUp();
    expect(sentNames).toEqual([`${ATTACKER}/own.json`]);
    expect(result.skipped.rows.map((r) => r.export_id)).not.toContain(exportId);
    expect(await objectExists(stack, `${ATTACKER}/own.json`)).toBe(false);
    expect(await objectExists(stack, VICTIM_FILE)).toBe(true);
  });

  test('a 1 MB file_url: the insert succeeds at once, the row is flagged, nothing is sent', async () => {
    const huge = `${base()}/storage/v1/object/public/exports/${ATTACKER}/${'%41'.repeat(330_000)}.json`;
    const started = Date.now();
    const exportId = await insertAsAttacker(expiredRow(huge));
    expect(Date.now() - started).toBeLessThan(5_000);
    const result = await cleanUp();
    expect(sentNames).toEqual([]);
    expect(result.skipped.rows).toContainEqual({ export_id: exportId, reason: 'url_too_long' });
  });
});
