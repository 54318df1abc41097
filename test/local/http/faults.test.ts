import { createClient, type SupabaseClient } from '@supabase/supabase-js';
import type { LocalStack } from '../../../local/stack';
import { databaseMode, startTestStack } from '../../support/stack';

describe(`fault hook on ${databaseMode}`, () => {
  let stack: LocalStack;
  let service: SupabaseClient;
  const removePath = '/storage/v1/object/exports';

  beforeAll(async () => {
    stack = await startTestStack();
    service = createClient(stack.supabase.url, stack.serviceRoleKey, { auth: { persistSession: false } });
  });
  afterEach(() => stack.supabase.faults.clear());
  afterAll(() => stack.stop());

  test('the nth matching request gets the status; the others are served', async () => {
    const fault = stack.supabase.faults.add({ method: 'DELETE', path: removePath, nth: 2, fault: { status: 503 } });
    const first = await service.storage.from('exports').remove(['a']);
    const second = await service.storage.from('exports').remove(['a']);
    const third = await service.storage.from('exports').remove(['a']);
    expect([first.error, second.error?.status, third.error]).toEqual([null, 503, null]);
    expect([fault.matched, fault.injected]).toEqual([3, 1]);
  });

  test('drop: the client sees a network error', async () => {
    stack.supabase.faults.add({ path: '/rest/v1/rpc/', fault: { drop: true } });
    const answer = await service.rpc('export_ops_start_run', { p_job: 'file-cleanup' });
    expect(answer.error?.message).toMatch(/fetch failed/);
  });

  test('hang: only the client timeout ends the call', async () => {
    // supabase-js retries GETs by itself, so hang a POST (rpc), which it never retries.
    stack.supabase.faults.add({ path: '/rest/v1/rpc/', fault: { hang: true } });
    const impatient = createClient(stack.supabase.url, stack.serviceRoleKey, {
      auth: { persistSession: false },
      global: { fetch: (input, init) => fetch(input, { ...init, signal: AbortSignal.timeout(200) }) },
    });
    const started = Date.now();
    const answer = await impatient.rpc('export_ops_start_run', { p_job: 'file-cleanup' });
    expect(answer.error?.message).toMatch(/abort|timeout/i);
    expect(Date.now() - started).toBeGreaterThanOrEqual(190);
  });

  test('after: the request is served, then its answer is lost', async () => {
    await service.storage.from('exports').upload('lost/answer.json', Buffer.from('x'));
    stack.supabase.faults.add({ method: 'DELETE', path: removePath, when: 'after', fault: { status: 500 } });
    const answer = await service.storage.from('exports').remove(['lost/answer.json']);
    expect(answer.error?.status).toBe(500);
    expect((await service.storage.from('exports').list('lost')).data).toEqual([]);
  });
});
