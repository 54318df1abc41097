import { createClient, type SupabaseClient } from '@supabase/supabase-js';
import { signJwt } from '../../../local/http/jwt';
import type { LocalStack } from '../../../local/stack';
import { databaseMode, startTestStack } from '../../support/stack';

const USER_A = '00000000-0000-0000-0000-00000000000a';
const USER_B = '00000000-0000-0000-0000-00000000000b';

describe(`PostgREST subset on ${databaseMode}`, () => {
  let stack: LocalStack;
  let service: SupabaseClient;
  const client = (key: string) => createClient(stack.supabase.url, key, { auth: { persistSession: false } });

  beforeAll(async () => {
    stack = await startTestStack();
    service = client(stack.serviceRoleKey);
    await stack.db.exec(`
      create type public.probe_pair as (k text, v int);
      create function public.probe_scalar(n int) returns int language sql as 'select n * 2';
      create function public.probe_setof_scalar(n int) returns setof int language sql as 'select generate_series(1, n)';
      create function public.probe_row(v text) returns public.probe_pair language sql as 'select v, length(v)';
      create function public.probe_rows(n int) returns setof public.probe_pair language sql
        as 'select ''r'' || i, i from generate_series(1, n) i';
      create function public.probe_table(n int default 2) returns table (k text, v int) language sql
        as 'select ''t'' || i, i from generate_series(1, n) i';
      create function public.probe_void() returns void language sql as 'select';
      create function public.probe_json(n int) returns jsonb language sql
        as 'select jsonb_agg(i) from generate_series(1, n) i';
      create function public.probe_whoami() returns jsonb language sql
        as $$ select jsonb_build_object('user', current_user, 'claim', auth.role()) $$;
      create function public.probe_raise(code text) returns int language plpgsql as $$
        begin raise exception 'probe failed' using errcode = code; end $$;
      create domain public."text/plain" as text;
      create domain public."image/png" as bytea;
      create function public.probe_welcome() returns "text/plain" language sql as $$ select 'Welcome to PostgREST'::"text/plain" $$;
      create function public.probe_welcome_twice() returns setof "text/plain" language sql
        as $$ select 'Welcome to PostgREST'::"text/plain" union all select 'Welcome to PostgREST' $$;
      create function public.probe_plain_text() returns text language sql as $$ select 'plain' $$;
      create function public.probe_image() returns "image/png" language sql as $$ select decode('89504e47', 'hex')::"image/png" $$;
      create table public.probe (id int primary key, name text, tags text, score numeric);
      insert into public.probe values (1, 'a', 'x', 1.5), (2, 'b', null, 2.5), (3, 'c,d', 'y', 3.5);
      insert into auth.users (id) values ('${USER_A}'), ('${USER_B}');
      insert into public.export_logs (export_id, user_id, "timestamp", format, config, conversation_count)
        values (gen_random_uuid(), '${USER_A}', now(), 'json', '{}', 1), (gen_random_uuid(), '${USER_B}', now(), 'csv', '{}', 2);
    `);
  });
  afterAll(() => stack.stop());

  describe('rpc answers every return shape as PostgREST does', () => {
    test('scalar: the bare value', async () => {
      expect((await service.rpc('probe_scalar', { n: 21 })).data).toBe(42);
    });
    test('setof scalar: an array', async () => {
      expect((await service.rpc('probe_setof_scalar', { n: 3 })).data).toEqual([1, 2, 3]);
    });
    test('one composite: an object', async () => {
      expect((await service.rpc('probe_row', { v: 'abc' })).data).toEqual({ k: 'abc', v: 3 });
    });
    test('setof rows and TABLE: arrays, [] when empty, defaults applied', async () => {
      expect((await service.rpc('probe_rows', { n: 2 })).data).toEqual([{ k: 'r1', v: 1 }, { k: 'r2', v: 2 }]);
      expect((await service.rpc('probe_rows', { n: 0 })).data).toEqual([]);
      expect((await service.rpc('probe_table')).data).toEqual([{ k: 't1', v: 1 }, { k: 't2', v: 2 }]);
    });
    test('void: 204 and no body', async () => {
      const answer = await service.rpc('probe_void');
      expect(answer.status).toBe(204);
      expect(answer.data).toBeNull();
      expect(answer.error).toBeNull();
    });
    test('set-returning functions are cut at db-max-rows (1000); one jsonb value is not', async () => {
      expect((await service.rpc('probe_setof_scalar', { n: 1500 })).data).toHaveLength(1000);
      expect((await service.rpc('probe_json', { n: 1500 })).data).toHaveLength(1500);
    });
    test('an unknown function or argument name is PGRST202 / 404', async () => {
      const unknown = await service.rpc('probe_missing');
      expect([unknown.status, unknown.error?.code]).toEqual([404, 'PGRST202']);
      const badArg = await service.rpc('probe_scalar', { m: 1 });
      expect([badArg.status, badArg.error?.code]).toEqual([404, 'PGRST202']);
    });
  });

  // Each answer is the one PostgREST's own test suite expects (test/spec/Feature/Query/CustomMediaSpec.hs,
  // PostgREST 12+; its fixtures' welcome() returns a "text/plain" domain as probe_welcome does).
  describe('rpc with media-type handlers, as PostgREST answers', () => {
    const call = (fn: string, accept?: string) => fetch(`${stack.supabase.url}/rest/v1/rpc/${fn}`, {
      method: 'POST',
      headers: { apikey: stack.serviceRoleKey, authorization: `Bearer ${stack.serviceRoleKey}`, 'content-type': 'application/json', ...(accept ? { accept } : {}) },
      body: '{}',
    });
    const unavailable = (asked: string) => ({ code: 'PGRST107', details: null, hint: null, message: `None of these media types are available: ${asked}` });

    test('a function returning a media-type domain answers that type raw when asked for it', async () => {
      const answer = await call('probe_welcome', 'text/plain');
      expect([answer.status, answer.headers.get('content-type'), await answer.text()]).toEqual([200, 'text/plain; charset=utf-8', 'Welcome to PostgREST']);
      const image = await call('probe_image', 'text/html,application/xhtml+xml,application/xml;q=0.9,image/png,*/*;q=0.8');
      expect([image.status, image.headers.get('content-type'), Buffer.from(await image.arrayBuffer()).toString('hex')]).toEqual([200, 'image/png', '89504e47']);
    });
    test('the same function still answers JSON by default, and through supabase-js', async () => {
      expect(await (await call('probe_welcome')).json()).toBe('Welcome to PostgREST');
      expect(await (await call('probe_welcome', 'application/json')).json()).toBe('Welcome to PostgREST');
      expect((await service.rpc('probe_welcome')).data).toBe('Welcome to PostgREST');
    });
    test('the first type in q order that can be served wins', async () => {
      const json = await call('probe_plain_text', 'text/plain, application/json');
      expect([json.status, await json.json()]).toEqual([200, 'plain']);
      const raw = await call('probe_welcome', 'application/json;q=0.5, text/plain');
      expect([raw.status, await raw.text()]).toEqual([200, 'Welcome to PostgREST']);
    });
    test('none available: 406 PGRST107 naming what was asked for', async () => {
      for (const [fn, accept] of [['probe_welcome', 'text/xml'], ['probe_welcome_twice', 'text/plain'], ['probe_plain_text', 'text/plain']]) {
        const answer = await call(fn, accept);
        expect([answer.status, await answer.json()]).toEqual([406, unavailable(accept)]);
      }
    });
  });

  test.each([
    ['P0001', 400], ['P0002', 500], ['23505', 409], ['23503', 409], ['42883', 404], ['57014', 500],
    ['57P01', 503], ['08006', 503], ['53300', 503], ['25006', 405], ['22023', 400],
  ])('SQLSTATE %s maps to HTTP %i with PostgREST\'s error body', async (code, status) => {
    const answer = await service.rpc('probe_raise', { code });
    expect(answer.status).toBe(status);
    expect(answer.error).toMatchObject({ code, message: 'probe failed', details: null, hint: null });
  });

  test('42501 is 401 for anon and 403 for a signed-in user', async () => {
    await stack.db.exec(`revoke execute on function public.probe_scalar(int) from public, anon, authenticated`);
    const anon = await client(stack.anonKey).rpc('probe_scalar', { n: 1 });
    const user = await client(signJwt({ role: 'authenticated', sub: USER_A }, stack.jwtSecret)).rpc('probe_scalar', { n: 1 });
    expect([anon.status, anon.error?.code]).toEqual([401, '42501']);
    expect([user.status, user.error?.code]).toEqual([403, '42501']);
  });

  describe('tables', () => {
    test('select with filters, order, limit/offset and an exact count', async () => {
      const answer = await service.from('probe').select('id, name', { count: 'exact' }).gte('id', 2).order('id', { ascending: false }).range(0, 0);
      expect(answer.data).toEqual([{ id: 3, name: 'c,d' }]);
      expect(answer.count).toBe(2);
      expect((await service.from('probe').select('id').in('name', ['a', 'c,d']).order('id')).data).toEqual([{ id: 1 }, { id: 3 }]);
      expect((await service.from('probe').select('id').is('tags', null)).data).toEqual([{ id: 2 }]);
      expect((await service.from('probe').select('id').not('tags', 'is', null).neq('id', 1)).data).toEqual([{ id: 3 }]);
      expect((await service.from('probe').select('id').lt('score', 2)).data).toEqual([{ id: 1 }]);
    });
    test('insert, update and delete with return=representation', async () => {
      const inserted = await service.from('probe').insert([{ id: 10, name: 'n' }, { id: 11, name: 'm' }]).select();
      expect([inserted.status, inserted.data]).toEqual([201, [{ id: 10, name: 'n', tags: null, score: null }, { id: 11, name: 'm', tags: null, score: null }]]);
      const updated = await service.from('probe').update({ tags: 'z' }).eq('id', 10).select('id, tags');
      expect(updated.data).toEqual([{ id: 10, tags: 'z' }]);
      const deleted = await service.from('probe').delete().in('id', [10, 11]).select('id');
      expect(deleted.data).toEqual([{ id: 10 }, { id: 11 }]);
      const plain = await service.from('probe').insert({ id: 12, name: 'q' });
      expect([plain.status, plain.data]).toEqual([201, null]);
    });
    test('an unfiltered delete is refused as pg-safeupdate does on Supabase', async () => {
      const answer = await service.from('probe').delete().select();
      expect([answer.status, answer.error?.code]).toEqual([400, '21000']);
      expect((await service.from('probe').select('id', { count: 'exact', head: true })).count).toBeGreaterThan(2);
    });
    test('identifiers are checked against the catalog, values are bound', async () => {
      const badColumn = await service.from('probe').select('id').eq('name; drop table probe', 'x');
      expect([badColumn.status, badColumn.error?.code]).toEqual([400, '42703']);
      const badTable = await service.from('probe_missing').select();
      expect([badTable.status, badTable.error?.code]).toEqual([404, 'PGRST205']);
      const sneaky = await service.from('probe').select('id').eq('name', "a' or '1'='1");
      expect(sneaky.data).toEqual([]);
    });
    test('single() wants exactly one row', async () => {
      expect((await service.from('probe').select('id').eq('id', 1).single()).data).toEqual({ id: 1 });
      const many = await service.from('probe').select('id').single();
      expect([many.status, many.error?.code]).toEqual([406, 'PGRST116']);
    });
  });

  describe('JWT roles', () => {
    test('RLS applies to the role and sub of the token', async () => {
      const userA = client(signJwt({ role: 'authenticated', sub: USER_A }, stack.jwtSecret));
      expect((await userA.from('export_logs').select('user_id')).data).toEqual([{ user_id: USER_A }]);
      expect((await client(stack.anonKey).from('export_logs').select('id')).data).toEqual([]);
      expect((await service.from('export_logs').select('id')).data).toHaveLength(2);
    });
    /** The raw answer to `GET /rest/v1/probe`, to see the body and headers exactly. */
    const rawGet = async (token: string) => {
      const res = await fetch(`${stack.supabase.url}/rest/v1/probe?select=id`, {
        headers: { authorization: `Bearer ${token}`, apikey: stack.anonKey },
      });
      return { status: res.status, wwwAuthenticate: res.headers.get('www-authenticate'), body: await res.json() };
    };
    const nowSeconds = () => Math.floor(Date.now() / 1000);

    test('a token signed with another secret is PGRST301 / 401 with PostgREST\'s message and header', async () => {
      expect(await rawGet(signJwt({ role: 'service_role' }, 'another-secret'))).toEqual({
        status: 401,
        wwwAuthenticate: 'Bearer error="invalid_token", error_description="JWSError JWSInvalidSignature"',
        body: { code: 'PGRST301', message: 'JWSError JWSInvalidSignature', details: null, hint: null },
      });
      const viaClient = await client(signJwt({ role: 'service_role' }, 'another-secret')).from('probe').select();
      expect([viaClient.status, viaClient.error?.code, viaClient.error?.message]).toEqual([401, 'PGRST301', 'JWSError JWSInvalidSignature']);
    });
    test('an expired token is PGRST301 / 401 "JWT expired", once past PostgREST\'s 30 s of skew', async () => {
      expect(await rawGet(signJwt({ role: 'service_role', exp: nowSeconds() - 60 }, stack.jwtSecret))).toEqual({
        status: 401,
        wwwAuthenticate: 'Bearer error="invalid_token", error_description="JWT expired"',
        body: { code: 'PGRST301', message: 'JWT expired', details: null, hint: null },
      });
      const withinSkew = await client(signJwt({ role: 'service_role', exp: nowSeconds() - 5 }, stack.jwtSecret)).from('probe').select('id').eq('id', 1);
      expect([withinSkew.status, withinSkew.data]).toEqual([200, [{ id: 1 }]]);
    });
    test('a malformed token is PGRST301 / 401 with the compact-decode message', async () => {
      const { status, body } = await rawGet('not-a-jwt');
      expect([status, body.code, body.message]).toEqual([401, 'PGRST301', 'JWSError (CompactDecodeError Invalid number of parts: Expected 3 parts; got 1)']);
    });
    test('a token with no role claim runs as anon, and the claims say so', async () => {
      const noRole = client(signJwt({ iss: 'supabase' }, stack.jwtSecret));
      expect((await noRole.rpc('probe_whoami')).data).toEqual({ user: 'anon', claim: 'anon' });
      expect((await noRole.from('export_logs').select('id')).data).toEqual([]);
      const call = await noRole.rpc('export_ops_start_run', { p_job: 'file-cleanup' });
      expect([call.status, call.error?.code]).toEqual([401, '42501']);
      const removed = await noRole.from('export_logs').delete().eq('user_id', USER_A).select();
      expect([removed.error, removed.data]).toEqual([null, []]);
      expect((await service.from('export_logs').select('user_id').eq('user_id', USER_A)).data).toEqual([{ user_id: USER_A }]);
      // Still anon with a sub, but auth.uid() reads the sub, and the app's policies are not `to authenticated`.
      const withSub = client(signJwt({ sub: USER_A }, stack.jwtSecret));
      expect((await withSub.from('export_logs').select('user_id')).data).toEqual([{ user_id: USER_A }]);
    });
    test('a role the database does not know is 22023, answered 400 as PostgREST 12.2 does', async () => {
      const unknown = await client(signJwt({ role: 'nobody' }, stack.jwtSecret)).from('probe').select();
      expect([unknown.status, unknown.error?.code, unknown.error?.message]).toEqual([400, '22023', 'role "nobody" does not exist']);
    });
    test('a role Supabase\'s authenticator is not granted (postgres) is 42501 / 403, never run as superuser', async () => {
      const superuser = await client(signJwt({ role: 'postgres' }, stack.jwtSecret)).rpc('probe_whoami');
      expect([superuser.status, superuser.error?.code, superuser.error?.message]).toEqual([403, '42501', 'permission denied to set role "postgres"']);
    });
    test('the anon key can neither call nor read anything export-ops adds', async () => {
      const anon = client(stack.anonKey);
      const call = await anon.rpc('export_ops_start_run', { p_job: 'file-cleanup' });
      expect([call.status, call.error?.code]).toEqual([401, '42501']);
      const read = await anon.schema('export_ops').from('runs').select();
      expect(read.status).toBe(406); // not an exposed schema
    });
  });
});
