import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { createClient, type SupabaseClient } from '@supabase/supabase-js';
import { signJwt } from '../../../local/http/jwt';
import type { LocalStack } from '../../../local/stack';
import { databaseMode, startTestStack } from '../../support/stack';

describe(`Storage subset on ${databaseMode}`, () => {
  let stack: LocalStack;
  let service: SupabaseClient;
  const bucket = () => service.storage.from('exports');
  const filesOnDisk = async () => (await readdir(join(stack.storageDir, 'exports')).catch(() => [])).length;
  const upload = async (names: string[]) => {
    for (const name of names) {
      const { error } = await bucket().upload(name, Buffer.from(`content of ${name}`), { contentType: 'application/json' });
      if (error) throw error;
    }
  };

  beforeAll(async () => {
    stack = await startTestStack();
    service = createClient(stack.supabase.url, stack.serviceRoleKey, { auth: { persistSession: false } });
  });
  afterAll(() => stack.stop());

  test('upload then download round-trips bytes, raw or as form data', async () => {
    await upload(['u1/raw.json']);
    expect(await (await bucket().download('u1/raw.json')).data?.text()).toBe('content of u1/raw.json');
    const form = await bucket().upload('u1/blob.csv', new Blob(['a,b\n1,2\n'], { type: 'text/csv' }));
    expect(form.error).toBeNull();
    expect(await (await bucket().download('u1/blob.csv')).data?.text()).toBe('a,b\n1,2\n');
  });

  test('a duplicate upload is HTTP 400 with statusCode "409"; upsert replaces', async () => {
    const again = await bucket().upload('u1/raw.json', Buffer.from('x'));
    expect(again.error).toMatchObject({ status: 400, statusCode: '409' });
    expect((await bucket().upload('u1/raw.json', Buffer.from('new'), { upsert: true })).error).toBeNull();
    expect(await (await bucket().download('u1/raw.json')).data?.text()).toBe('new');
  });

  test('a missing object is HTTP 400 with statusCode "404"', async () => {
    const answer = await bucket().download('u1/none.json');
    expect(answer.error).toMatchObject({ status: 400 });
  });

  test('list shows one level, sorted by name: folders have id null', async () => {
    await upload(['u2/a.json', 'u2/b.json', 'u2/deep/c.json']);
    const { data } = await bucket().list('u2');
    expect(data?.map((e) => [e.name, e.id === null])).toEqual([['a.json', false], ['b.json', false], ['deep', true]]);
    expect((await bucket().list('u2', { limit: 1, offset: 1 })).data?.map((e) => e.name)).toEqual(['b.json']);
    expect((await bucket().list('u2', { search: 'b' })).data?.map((e) => e.name)).toEqual(['b.json']);
  });

  describe('remove', () => {
    test('answers only the rows it deleted, skips missing names, and deletes the blobs', async () => {
      await upload(['r/1.json', 'r/2.json']);
      const before = await filesOnDisk();
      const { data, error } = await bucket().remove(['r/2.json', 'r/missing.json', 'r/1.json']);
      expect(error).toBeNull();
      expect(data?.map((row) => row.name).sort()).toEqual(['r/1.json', 'r/2.json']);
      expect(data?.[0]).toEqual(expect.objectContaining({ bucket_id: 'exports', id: expect.any(String), metadata: expect.any(Object) }));
      expect(await filesOnDisk()).toBe(before - 2);
      expect((await bucket().remove(['r/1.json'])).data).toEqual([]);
      expect((await service.storage.from('no-such-bucket').remove(['x'])).data).toEqual([]);
    });

    test('names are matched exactly, not as prefixes', async () => {
      await upload(['p/abc.json']);
      expect((await bucket().remove(['p/ab', 'p/'])).data).toEqual([]);
      expect((await bucket().list('p')).data).toHaveLength(1);
    });

    test('an empty list is refused', async () => {
      const { error } = await bucket().remove([]);
      expect(error).toMatchObject({ status: 400, message: 'body/prefixes must NOT have fewer than 1 items' });
    });

    test('more than 1000 names is refused whole; 1000 is served', async () => {
      const names = Array.from({ length: 1001 }, (_, i) => `bulk/${i}.json`);
      await upload(names.slice(0, 3));
      const refused = await bucket().remove(names);
      expect(refused.error).toMatchObject({ status: 400, message: 'Bulk object requests are limited to 1000 objects per request.' });
      expect((await bucket().list('bulk')).data).toHaveLength(3);
      const served = await bucket().remove(names.slice(0, 1000));
      expect(served.data).toHaveLength(3);
    });

    test('a body over 1 MiB is statusCode "413"', async () => {
      const { error } = await bucket().remove(Array.from({ length: 900 }, (_, i) => `${'x'.repeat(1200)}${i}`));
      expect(error).toMatchObject({ status: 400, statusCode: '413' });
    });

    test('the anon role deletes nothing (RLS, no policy)', async () => {
      await upload(['anon/keep.json']);
      const anon = createClient(stack.supabase.url, stack.anonKey, { auth: { persistSession: false } });
      expect((await anon.storage.from('exports').remove(['anon/keep.json'])).data).toEqual([]);
      expect((await bucket().list('anon')).data).toHaveLength(1);
    });
  });

  describe('JWTs, as a real Storage server (v1.11) answers them', () => {
    const USER = '00000000-0000-0000-0000-0000000000c1';
    const clientFor = (claims: Record<string, unknown>, secret = stack.jwtSecret) =>
      createClient(stack.supabase.url, signJwt(claims, secret), { auth: { persistSession: false } });
    /** The raw answer to a list call, to see the exact body supabase-js only partly exposes. */
    const rawList = async (token: string) => {
      const res = await fetch(`${stack.supabase.url}/storage/v1/object/list/exports`, {
        method: 'POST',
        headers: { authorization: `Bearer ${token}`, apikey: stack.anonKey, 'content-type': 'application/json' },
        body: JSON.stringify({ prefix: '' }),
      });
      return { status: res.status, body: await res.json() };
    };

    test('a bad signature is HTTP 400 with statusCode "403" and jose\'s message', async () => {
      const forged = signJwt({ role: 'service_role' }, 'another-secret');
      expect(await rawList(forged)).toEqual({
        status: 400,
        body: { statusCode: '403', code: 'AccessDenied', error: 'Unauthorized', message: 'signature verification failed' },
      });
      const viaClient = await clientFor({ role: 'service_role' }, 'another-secret').storage.from('exports').list();
      expect(viaClient.error).toMatchObject({ status: 400, statusCode: '403', message: 'signature verification failed' });
    });

    test('an expired token is HTTP 400 with statusCode "403", with no clock tolerance', async () => {
      const expired = signJwt({ role: 'service_role', exp: Math.floor(Date.now() / 1000) - 1 }, stack.jwtSecret);
      expect(await rawList(expired)).toEqual({
        status: 400,
        body: { statusCode: '403', code: 'AccessDenied', error: 'Unauthorized', message: '"exp" claim timestamp check failed' },
      });
    });

    describe('a token with no role claim is accepted and runs as anon', () => {
      const noRole = () => clientFor({ sub: USER });

      test('remove answers [] and the object is still there afterwards', async () => {
        await upload(['norole/keep.json']);
        const before = await filesOnDisk();
        const { data, error } = await noRole().storage.from('exports').remove(['norole/keep.json']);
        expect(error).toBeNull();
        expect(data).toEqual([]);
        expect((await bucket().list('norole')).data?.map((e) => e.name)).toEqual(['keep.json']);
        expect(await (await bucket().download('norole/keep.json')).data?.text()).toBe('content of norole/keep.json');
        expect(await filesOnDisk()).toBe(before);
      });

      test('list returns nothing', async () => {
        await upload(['norole/seen-by-service.json']);
        const { data, error } = await noRole().storage.from('exports').list('norole');
        expect(error).toBeNull();
        expect(data).toEqual([]);
      });

      test('an upload is refused by RLS (statusCode "403"), not told the bucket is missing', async () => {
        const before = await filesOnDisk();
        const { error } = await noRole().storage.from('exports').upload('norole/new.json', Buffer.from('x'));
        expect(error).toMatchObject({ status: 400, statusCode: '403', message: expect.stringContaining('row-level security') });
        expect((await bucket().list('norole', { search: 'new' })).data).toEqual([]);
        expect(await filesOnDisk()).toBe(before);
      });
    });

    test('a role the storage login is not granted (postgres) is refused, never run as superuser', async () => {
      await upload(['su/keep.json']);
      const { data, error } = await clientFor({ role: 'postgres' }).storage.from('exports').remove(['su/keep.json']);
      expect(data).toBeNull();
      expect(error).toMatchObject({ status: 400, statusCode: '403', message: 'permission denied to set role "postgres"' });
      expect((await bucket().list('su')).data).toHaveLength(1);
    });
  });

  test('creating a bucket twice is statusCode "409"', async () => {
    expect((await service.storage.createBucket('scratch')).data).toEqual({ name: 'scratch' });
    expect((await service.storage.createBucket('scratch')).error).toMatchObject({ status: 400, statusCode: '409' });
  });
});
