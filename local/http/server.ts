import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Database } from '../db/database';
import { ApiError, type ApiReply, type ApiRequest } from './api';
import { FaultInjector, type Fault } from './faults';
import { authenticate, type Service } from './auth';
import { createRestHandler, type RestOptions } from './rest';
import { createStorageHandler, FILE_SIZE_LIMIT, storageError, type StorageOptions } from './storage';

/** How long an idle keep-alive connection stays open (see createServer below). */
const SERVER_KEEP_ALIVE_MS = 65_000;

/** Largest request body read at all: an upload at Storage's file limit plus multipart framing. */
const MAX_REQUEST_BYTES = FILE_SIZE_LIMIT + 64 * 1024;

export interface SupabaseServerOptions extends RestOptions, StorageOptions {
  db: Database;
  /** Secret that signs and verifies the HS256 JWTs (the project's JWT secret). */
  jwtSecret: string;
  /** Port on 127.0.0.1. @default 0 (any free port) */
  port?: number;
}

export interface SupabaseServer {
  /** e.g. `http://127.0.0.1:54321` — what SUPABASE_URL is set to. */
  url: string;
  faults: FaultInjector;
  /** Requests served so far, by `METHOD /service/first-segment`; benchmarks read it. */
  requestCounts: Map<string, number>;
  /** Calls `listener` with every request as it arrives (tests check what a job sent); returns an unsubscribe. */
  observe(listener: RequestListener): () => void;
  close(): Promise<void>;
}

export type RequestListener = (request: { method: string; path: string; body: Buffer }) => void;

async function readBody(req: IncomingMessage): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    size += (chunk as Buffer).length;
    if (size > MAX_REQUEST_BYTES) throw storageError(413, 'Payload Too Large', 'Request body is too large');
    chunks.push(chunk as Buffer);
  }
  return Buffer.concat(chunks);
}

function send(res: ServerResponse, reply: ApiReply): void {
  res.writeHead(reply.status, reply.headers);
  res.end(reply.body);
}

function applyFault(res: ServerResponse, fault: Fault): void {
  if ('delay' in fault) {
    throw new Error('a delay fault is served, not applied');
  } else if ('drop' in fault) {
    res.socket?.destroy();
  } else if ('hang' in fault) {
    if (fault.ms !== undefined) setTimeout(() => send(res, { status: 504, body: '' }), fault.ms).unref();
  } else {
    const body = fault.body ?? { statusCode: String(fault.status), error: 'Injected fault', message: `injected ${fault.status}` };
    send(res, { status: fault.status, headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
  }
}

/**
 * Starts the Supabase-compatible HTTP front on 127.0.0.1: `/rest/v1` (PostgREST subset) and
 * `/storage/v1` (Storage subset), with HS256 JWT roles applied per request.
 *
 * @example
 * const server = await startSupabaseServer({ db, jwtSecret, storageDir });
 * const supabase = createClient(server.url, serviceRoleKey);
 */
export async function startSupabaseServer(options: SupabaseServerOptions): Promise<SupabaseServer> {
  const rest = createRestHandler(options.db, options);
  const storage = createStorageHandler(options.db, options);
  const faults = new FaultInjector();
  const requestCounts = new Map<string, number>();
  const listeners = new Set<RequestListener>();

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://127.0.0.1');
    const method = req.method ?? 'GET';
    const match = /^\/(rest|storage)\/v1\/?(.*)$/.exec(url.pathname);
    const service = (match?.[1] ?? 'rest') as Service;
    const countKey = `${method} /${service}/${(match?.[2] ?? '').split('/')[0]}`;
    requestCounts.set(countKey, (requestCounts.get(countKey) ?? 0) + 1);

    let reply: ApiReply;
    let injected: ReturnType<FaultInjector['take']>;
    try {
      const body = await readBody(req);
      for (const listener of listeners) listener({ method, path: url.pathname, body });
      injected = faults.take(method, url.pathname);
      if (injected && 'delay' in injected.fault) {
        await new Promise((resolve) => setTimeout(resolve, (injected!.fault as { delay: number }).delay));
        injected = undefined;
      }
      if (injected?.when === 'before') return applyFault(res, injected.fault);
      if (!match) throw new ApiError(404, { message: `no route for ${url.pathname}` });
      const principal = authenticate(req.headers, service, options.jwtSecret);
      const apiRequest: ApiRequest = { method, path: match[2], query: url.searchParams, headers: req.headers, body, ...principal };
      reply = await (service === 'rest' ? rest(apiRequest) : storage(apiRequest));
    } catch (error) {
      reply = error instanceof ApiError
        ? { status: error.status, headers: { 'content-type': 'application/json', ...error.headers }, body: JSON.stringify(error.body) }
        : { status: 500, headers: { 'content-type': 'application/json' }, body: JSON.stringify(internalError(service, error)) };
    }
    if (injected) return applyFault(res, injected.fault);
    send(res, reply);
  }

  const server: Server = createServer((req, res) => void handle(req, res));
  // Idle keep-alive sockets are kept longer than Node's fetch (undici, 4 s) keeps them, as
  // Supabase's own proxies do: with Node's 5 s default, a request sent on a socket the server
  // is closing at that moment fails with "fetch failed" on a loaded machine.
  server.keepAliveTimeout = SERVER_KEEP_ALIVE_MS;
  server.headersTimeout = SERVER_KEEP_ALIVE_MS + 1_000;
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, '127.0.0.1', resolve);
  });
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    faults,
    requestCounts,
    observe(listener) {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

function internalError(service: Service, error: unknown) {
  const message = error instanceof Error ? error.message : String(error);
  return service === 'rest'
    ? { code: 'PGRST000', message, details: null, hint: null }
    : { statusCode: '500', code: 'InternalError', error: 'internal', message };
}
