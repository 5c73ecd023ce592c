/**
 * The control-plane API on real sockets (127.0.0.1, ephemeral ports): routes, statuses, auth,
 * lifecycle, HTTPS and mutual TLS with certificates made here by the openssl CLI.
 */
import assert from 'node:assert/strict';
import { mkdtemp, rm, unlink, writeFile } from 'node:fs/promises';
import http from 'node:http';
import type { IncomingHttpHeaders } from 'node:http';
import https from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { pino } from 'pino';
import { ApiServer } from '../../src/api/server.ts';
import type { ApiAddress, ApiLimits, ApiOptions } from '../../src/api/server.ts';
import type { RouteDefinition } from '../../src/api/routes.ts';
import type { AgentView, Readiness } from '../../src/api/view.ts';
import { DockhandError } from '../../src/core/errors.ts';
import type { ContainerRecord, RecordedEvent } from '../../src/docker/types.ts';
import { createPki } from '../helpers/pki.ts';
import type { Pki } from '../helpers/pki.ts';


function record(id: string, name: string): ContainerRecord {
  return {
    id, name, image: 'repo/app:8', imageTag: '8', imageId: 'sha256:1', labels: { app: name }, state: 'running', health: 'healthy',
    restartCount: 0, restartPolicy: 'no', restartPolicyMaxRetries: 0, exitCode: null, oomKilled: false, createdAt: null,
    startedAt: null, finishedAt: null, pid: 42, hostname: id.slice(0, 12), networkMode: 'bridge', ips: {}, ports: [],
    cgroupPath: `/docker/${id}`, updatedAt: 0,
  };
}

const WEB = record('abcd1111'.padEnd(64, '0'), 'web');
const DB = record('abcd2222'.padEnd(64, '0'), 'db');
const EVENTS: RecordedEvent[] = Array.from({ length: 12 }, (_, i) =>
  i % 2 === 0
    ? { kind: 'container', seq: i + 1, time: 1000 + i, action: 'start', containerId: WEB.id, containerName: 'web', image: WEB.image, labels: {} }
    : { kind: 'agent', seq: i + 1, time: 1000 + i, action: 'docker_reconnected', level: 'info', message: 'reconnected' },
);
const METRICS = '# HELP dockhand_up 1 when up\n# TYPE dockhand_up gauge\ndockhand_up 1\n';

class FakeView implements AgentView {
  ready = true;
  hostCalls = 0;
  lastLimit = -1;
  hostImpl: () => Promise<Record<string, unknown>> = () => Promise.resolve({ hostname: 'node-1', docker: { version: '27.0' } });

  readiness(): Readiness {
    return { ready: this.ready, checks: [{ name: 'docker', ok: this.ready, detail: this.ready ? 'connected' : 'socket lost' }] };
  }
  host(): Promise<Record<string, unknown>> {
    this.hostCalls++;
    return this.hostImpl();
  }
  containers(): ContainerRecord[] {
    return [WEB, DB];
  }
  container(ref: string): ContainerRecord | undefined {
    const byName = [WEB, DB].find((c) => c.name === ref || c.id === ref);
    if (byName !== undefined || ref.length < 4) return byName;
    const matches = [WEB, DB].filter((c) => c.id.startsWith(ref));
    if (matches.length > 1) throw new DockhandError('BAD_REQUEST', `container id prefix "${ref}" is ambiguous`);
    return matches[0];
  }
  events(since: number, limit: number): RecordedEvent[] {
    this.lastLimit = limit;
    return EVENTS.filter((e) => e.seq > since).slice(0, limit);
  }
  metrics(): Promise<{ contentType: string; body: string }> {
    return Promise.resolve({ contentType: 'text/plain; version=0.0.4; charset=utf-8', body: METRICS });
  }
}

interface Reply {
  status: number;
  headers: IncomingHttpHeaders;
  body: string;
}
interface TlsClient {
  ca?: Buffer;
  cert?: Buffer;
  key?: Buffer;
}
interface SendOptions {
  method?: string;
  headers?: Record<string, string>;
  body?: string;
  tls?: TlsClient;
  agent?: http.Agent;
}

/** One request with the path sent verbatim (no URL normalisation on the client side). */
function send(address: ApiAddress, path: string, options: SendOptions = {}): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const base = { host: address.host, port: address.port, path, method: options.method ?? 'GET', headers: options.headers ?? {} };
    const req = address.url.startsWith('https:')
      ? https.request({ ...base, ...options.tls, agent: false })
      : http.request({ ...base, agent: options.agent ?? false });
    req.on('response', (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (chunk: Buffer) => chunks.push(chunk));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks).toString('utf8') }));
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end(options.body);
  });
}

function json<T>(reply: Reply): T {
  assert.equal(reply.headers['content-type'], 'application/json; charset=utf-8');
  assert.equal(reply.headers['cache-control'], 'no-store');
  return JSON.parse(reply.body) as T;
}

/** Asserts the JSON error shape and returns its message. */
function assertError(reply: Reply, status: number, code: string): string {
  assert.equal(reply.status, status, reply.body);
  const body = json<{ error: { code: string; message: string } }>(reply);
  assert.deepEqual(Object.keys(body), ['error']);
  assert.equal(body.error.code, code);
  assert.equal(typeof body.error.message, 'string');
  return body.error.message;
}

function deferred<T>(): { promise: Promise<T>; resolve: (value: T) => void } {
  let resolve!: (value: T) => void;
  const promise = new Promise<T>((r) => (resolve = r));
  return { promise, resolve };
}

const bearer = (token: string): Record<string, string> => ({ authorization: `Bearer ${token}` });

let dir = '';
const servers: ApiServer[] = [];

interface Started {
  server: ApiServer;
  address: ApiAddress;
  view: FakeView;
  logs: Array<Record<string, unknown>>;
}

function create(
  options: Partial<ApiOptions> = {},
  extra: { limits?: Partial<ApiLimits>; routes?: RouteDefinition[] } = {},
): { server: ApiServer; view: FakeView; logs: Array<Record<string, unknown>> } {
  const logs: Array<Record<string, unknown>> = [];
  const logger = pino({ level: 'debug' }, { write: (line: string) => void logs.push(JSON.parse(line) as Record<string, unknown>) });
  const view = new FakeView();
  const server = new ApiServer({
    options: { listen: { host: '127.0.0.1', port: 0 }, token_file: null, tls: null, metrics_auth: true, ...options },
    view,
    logger,
    ...extra,
  });
  servers.push(server);
  return { server, view, logs };
}

async function start(options: Partial<ApiOptions> = {}, extra: { limits?: Partial<ApiLimits>; routes?: RouteDefinition[] } = {}): Promise<Started> {
  const created = create(options, extra);
  return { ...created, address: await created.server.start() };
}

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'dockhand-api-'));
});
after(async () => {
  for (const server of servers) server.destroy();
  await rm(dir, { recursive: true, force: true });
});

void describe('routes without auth', () => {
  let s: Started;
  before(async () => {
    s = await start({}, {
      routes: [{ method: 'GET', pattern: '/v1/extra/:name', handler: ({ params, query }) => ({ json: { name: params['name'], q: query.get('q') } }) }],
    });
  });

  void it('listens on the ephemeral port it reports', () => {
    assert.equal(s.address.host, '127.0.0.1');
    assert.ok(s.address.port > 0);
    assert.equal(s.address.url, `http://127.0.0.1:${s.address.port}`);
    assert.deepEqual(s.server.address, s.address);
  });

  void it('GET /healthz', async () => {
    const reply = await send(s.address, '/healthz');
    assert.equal(reply.status, 200);
    assert.deepEqual(json(reply), { status: 'ok' });
  });

  void it('GET /readyz follows readiness: 200 when ready, 503 when not', async () => {
    s.view.ready = true;
    const ok = await send(s.address, '/readyz');
    assert.equal(ok.status, 200);
    assert.deepEqual(json(ok), { ready: true, checks: [{ name: 'docker', ok: true, detail: 'connected' }] });
    s.view.ready = false;
    const down = await send(s.address, '/readyz');
    assert.equal(down.status, 503);
    assert.deepEqual(json(down), { ready: false, checks: [{ name: 'docker', ok: false, detail: 'socket lost' }] });
    s.view.ready = true;
  });

  void it('GET /v1/host and /v1/containers', async () => {
    assert.deepEqual(json(await send(s.address, '/v1/host')), { hostname: 'node-1', docker: { version: '27.0' } });
    const list = json<{ containers: ContainerRecord[] }>(await send(s.address, '/v1/containers'));
    assert.deepEqual(list.containers.map((c) => c.name), ['web', 'db']);
    assert.deepEqual(list.containers[0], WEB);
  });

  void it('GET /v1/containers/:ref by id, prefix and name; 404 unknown; 400 ambiguous', async () => {
    assert.deepEqual(json(await send(s.address, `/v1/containers/${WEB.id}`)), WEB);
    assert.deepEqual(json(await send(s.address, '/v1/containers/abcd2222')), DB);
    assert.deepEqual(json(await send(s.address, '/v1/containers/web')), WEB);
    assert.match(assertError(await send(s.address, '/v1/containers/nope'), 404, 'NOT_FOUND'), /nope/);
    assert.match(assertError(await send(s.address, '/v1/containers/abcd'), 400, 'BAD_REQUEST'), /ambiguous/);
    assertError(await send(s.address, `/v1/containers/${'x'.repeat(300)}`), 400, 'BAD_REQUEST');
  });

  void it('GET /v1/events pages by seq', async () => {
    type Page = { events: RecordedEvent[]; next: number };
    const first = json<Page>(await send(s.address, '/v1/events?limit=5'));
    assert.deepEqual(first.events.map((e) => e.seq), [1, 2, 3, 4, 5]);
    assert.equal(first.next, 5);
    assert.deepEqual(first.events[1], EVENTS[1]);
    const second = json<Page>(await send(s.address, `/v1/events?since=${first.next}&limit=5`));
    assert.deepEqual(second.events.map((e) => e.seq), [6, 7, 8, 9, 10]);
    const rest = json<Page>(await send(s.address, '/v1/events?since=10'));
    assert.deepEqual(rest.events.map((e) => e.seq), [11, 12]);
    assert.equal(s.view.lastLimit, 500);
    const empty = json<Page>(await send(s.address, '/v1/events?since=12'));
    assert.deepEqual(empty, { events: [], next: 12 });
    await send(s.address, '/v1/events?limit=999999');
    assert.equal(s.view.lastLimit, 5000);
  });

  void it('GET /v1/events rejects bad parameters, naming them', async () => {
    assert.match(assertError(await send(s.address, '/v1/events?since=-1'), 400, 'BAD_REQUEST'), /"since"/);
    assert.match(assertError(await send(s.address, '/v1/events?since=1.5'), 400, 'BAD_REQUEST'), /"since"/);
    assert.match(assertError(await send(s.address, '/v1/events?limit=abc'), 400, 'BAD_REQUEST'), /"limit"/);
    assert.match(assertError(await send(s.address, '/v1/events?limit=0'), 400, 'BAD_REQUEST'), /"limit"/);
  });

  void it('GET /metrics serves the view body with its content type, then the API\'s own figures', async () => {
    const reply = await send(s.address, '/metrics');
    assert.equal(reply.status, 200);
    assert.equal(reply.headers['content-type'], 'text/plain; version=0.0.4; charset=utf-8');
    assert.ok(reply.body.startsWith(METRICS), reply.body);
    for (const reason of ['capacity', 'socket_limit', 'idle_evicted']) {
      assert.match(reply.body, new RegExp(`^dockhand_api_connections_rejected_total\\{reason="${reason}"\\} 0$`, 'm'));
    }
    assert.match(reply.body, /^dockhand_api_connections 1$/m);
  });

  void it('HEAD answers like GET without a body', async () => {
    const reply = await send(s.address, '/v1/containers', { method: 'HEAD' });
    const get = await send(s.address, '/v1/containers');
    assert.equal(reply.status, 200);
    assert.equal(reply.body, '');
    assert.equal(reply.headers['content-length'], String(Buffer.byteLength(get.body)));
    const missing = await send(s.address, '/nope', { method: 'HEAD' });
    assert.equal(missing.status, 404);
    assert.equal(missing.body, '');
  });

  void it('405 with Allow for other methods on a known path', async () => {
    for (const method of ['POST', 'DELETE', 'PUT', 'OPTIONS']) {
      const reply = await send(s.address, '/v1/host', { method });
      assert.match(assertError(reply, 405, 'METHOD_NOT_ALLOWED'), new RegExp(method));
      assert.equal(reply.headers.allow, 'GET, HEAD');
    }
  });

  void it('404 JSON for unknown paths, trailing slashes and empty segments', async () => {
    for (const path of ['/nope', '/v1', '/healthz/', '/v1//host', '/v1/containers/web/extra']) {
      assertError(await send(s.address, path), 404, 'NOT_FOUND');
    }
  });

  void it('400 for dot segments and encoded slashes instead of resolving them', async () => {
    for (const path of ['/v1/../healthz', '/v1/%2e%2e/healthz', '/v1/containers/..%2Fhost', '//healthz']) {
      assertError(await send(s.address, path), 400, 'BAD_REQUEST');
    }
  });

  void it('refuses a body on GET and closes that connection', async () => {
    const reply = await send(s.address, '/v1/host', { body: 'x'.repeat(1000), headers: { 'content-type': 'text/plain', 'content-length': '1000' } });
    assert.match(assertError(reply, 400, 'BAD_REQUEST'), /body/);
    assert.equal(reply.headers.connection, 'close');
  });

  void it('serves routes passed at construction', async () => {
    assert.deepEqual(json(await send(s.address, '/v1/extra/a%20b?q=1')), { name: 'a b', q: '1' });
  });

  void it('refuses addRoute after start', () => {
    assert.throws(() => s.server.addRoute('GET', '/v1/late', () => ({ json: {} })), /after start/);
  });

  void it('logs each request at debug without query or headers', async () => {
    s.logs.length = 0;
    await send(s.address, '/v1/events?since=3', { headers: { authorization: 'Bearer leak-me' } });
    const entries = s.logs.filter((l) => l['msg'] === 'api request');
    assert.equal(entries.length, 1);
    const entry = entries[0];
    assert.equal(entry?.['level'], 20);
    assert.equal(entry?.['method'], 'GET');
    assert.equal(entry?.['path'], '/v1/events');
    assert.equal(entry?.['status'], 200);
    assert.equal(typeof entry?.['ms'], 'number');
    assert.doesNotMatch(JSON.stringify(s.logs), /leak-me|since=3/);
  });
});

void describe('handler failures', () => {
  void it('500 with a generic message, logged once, and the server keeps serving', async () => {
    const s = await start();
    s.view.hostImpl = () => Promise.reject(new TypeError('secret detail at /src/host.ts:12'));
    const reply = await send(s.address, '/v1/host');
    assert.equal(assertError(reply, 500, 'INTERNAL'), 'internal error');
    assert.doesNotMatch(reply.body, /secret|host\.ts/);
    const errors = s.logs.filter((l) => l['level'] === 50);
    assert.equal(errors.length, 1);
    assert.match(JSON.stringify(errors[0]?.['err']), /secret detail/);
    assert.equal((await send(s.address, '/healthz')).status, 200);
    assert.equal((await send(s.address, '/v1/containers')).status, 200);
  });

  void it('503 for a DockhandError UNAVAILABLE, with its message', async () => {
    const s = await start();
    s.view.hostImpl = () => Promise.reject(new DockhandError('UNAVAILABLE', 'docker socket lost', { transient: true }));
    assert.equal(assertError(await send(s.address, '/v1/host'), 503, 'UNAVAILABLE'), 'docker socket lost');
    assert.equal(s.logs.filter((l) => l['level'] === 50).length, 0);
  });

  void it('503 when a handler outlives its deadline, and its signal is aborted', async () => {
    let aborted = false;
    const s = await start({}, {
      limits: { handlerTimeoutMs: 100 },
      routes: [{
        method: 'GET',
        pattern: '/v1/slow',
        handler: async ({ signal }) => {
          await new Promise((resolve) => signal.addEventListener('abort', resolve));
          aborted = true;
          return { json: {} };
        },
      }],
    });
    const begun = Date.now();
    assert.match(assertError(await send(s.address, '/v1/slow'), 503, 'UNAVAILABLE'), /timed out/);
    assert.ok(Date.now() - begun < 2000);
    assert.equal(aborted, true);
  });
});

void describe('bearer token', () => {
  const TOKEN = 'tok-9f8e7d6c5b4a';
  let s: Started;
  let tokenFile = '';
  before(async () => {
    tokenFile = join(dir, 'token');
    await writeFile(tokenFile, `  ${TOKEN}\n`, { mode: 0o600 });
    s = await start({ token_file: tokenFile });
  });

  void it('/healthz needs no token', async () => {
    assert.equal((await send(s.address, '/healthz')).status, 200);
  });

  void it('401 without or with a wrong token, 200 with the right one', async () => {
    for (const path of ['/v1/host', '/v1/containers', '/readyz', '/metrics', '/v1/events']) {
      const none = await send(s.address, path);
      assertError(none, 401, 'UNAUTHORIZED');
      assert.equal(none.headers['www-authenticate'], 'Bearer realm="dockhand"');
      assertError(await send(s.address, path, { headers: bearer('wrong') }), 401, 'UNAUTHORIZED');
      assertError(await send(s.address, path, { headers: bearer(`${TOKEN}x`) }), 401, 'UNAUTHORIZED');
      assertError(await send(s.address, path, { headers: { authorization: `Basic ${TOKEN}` } }), 401, 'UNAUTHORIZED');
      assert.equal((await send(s.address, path, { headers: bearer(TOKEN) })).status, 200, path);
    }
  });

  void it('does not reveal which paths exist to unauthenticated clients', async () => {
    assertError(await send(s.address, '/nope'), 401, 'UNAUTHORIZED');
    assertError(await send(s.address, '/v1/host', { method: 'POST' }), 401, 'UNAUTHORIZED');
    assertError(await send(s.address, '/nope', { headers: bearer(TOKEN) }), 404, 'NOT_FOUND');
    assertError(await send(s.address, '/v1/host', { method: 'POST', headers: bearer(TOKEN) }), 405, 'METHOD_NOT_ALLOWED');
    assertError(await send(s.address, '/healthz', { method: 'POST' }), 405, 'METHOD_NOT_ALLOWED');
  });

  void it('never logs the token', () => {
    assert.ok(s.logs.length > 0);
    assert.doesNotMatch(JSON.stringify(s.logs), new RegExp(TOKEN));
  });

  void it('reloadToken switches the token; a failed reload keeps the old one', async () => {
    await writeFile(tokenFile, 'tok-second\n');
    await s.server.reloadToken();
    assertError(await send(s.address, '/v1/host', { headers: bearer(TOKEN) }), 401, 'UNAUTHORIZED');
    assert.equal((await send(s.address, '/v1/host', { headers: bearer('tok-second') })).status, 200);

    await unlink(tokenFile);
    await assert.rejects(s.server.reloadToken(), (err: unknown) => err instanceof DockhandError && err.code === 'CONFIG_INVALID' && err.message.includes(tokenFile));
    assert.equal((await send(s.address, '/v1/host', { headers: bearer('tok-second') })).status, 200);
    await writeFile(tokenFile, '\n');
    await assert.rejects(s.server.reloadToken(), /is empty/);
    assert.equal((await send(s.address, '/v1/host', { headers: bearer('tok-second') })).status, 200);
    assert.doesNotMatch(JSON.stringify(s.logs), /tok-second/);
  });

  void it('metrics_auth false opens /metrics only', async () => {
    const file = join(dir, 'token-metrics');
    await writeFile(file, 'tok-metrics');
    const open = await start({ token_file: file, metrics_auth: false });
    const metrics = await send(open.address, '/metrics');
    assert.equal(metrics.status, 200);
    assert.ok(metrics.body.startsWith(METRICS), metrics.body);
    assertError(await send(open.address, '/v1/host'), 401, 'UNAUTHORIZED');
    assertError(await send(open.address, '/readyz'), 401, 'UNAUTHORIZED');
  });
});

void describe('start failures', () => {
  const configInvalid = (message: RegExp) => (err: unknown): boolean =>
    err instanceof DockhandError && err.code === 'CONFIG_INVALID' && message.test(err.message);

  void it('a missing or empty token file is CONFIG_INVALID naming key path and file', async () => {
    const missing = join(dir, 'no-such-token');
    await assert.rejects(create({ token_file: missing }).server.start(), configInvalid(new RegExp(`^api\\.token_file: cannot read ${missing}: ENOENT$`)));
    const empty = join(dir, 'empty-token');
    await writeFile(empty, '  \n');
    await assert.rejects(create({ token_file: empty }).server.start(), configInvalid(/^api\.token_file: .*empty-token is empty$/));
  });

  void it('a port in use rejects with the address in the message', async () => {
    const first = await start();
    const second = create({ listen: { host: '127.0.0.1', port: first.address.port } });
    await assert.rejects(second.server.start(), (err: unknown) =>
      err instanceof DockhandError && err.code === 'UNAVAILABLE' && err.message.includes(`127.0.0.1:${first.address.port}`) && /EADDRINUSE/.test(err.message));
    await second.server.close();
    assert.equal((await send(first.address, '/healthz')).status, 200);
  });

  void it('start() twice is refused; close() before start() resolves', async () => {
    const s = await start();
    await assert.rejects(s.server.start(), /called after start/);
    await create().server.close();
  });
});

void describe('close and destroy', () => {
  void it('close() lets an in-flight request finish, refuses new connections, then resolves; idempotent', async () => {
    const s = await start();
    const gate = deferred<undefined>();
    const entered = deferred<undefined>();
    s.view.hostImpl = async () => {
      entered.resolve(undefined);
      await gate.promise;
      return { hostname: 'slow' };
    };
    const pending = send(s.address, '/v1/host');
    await entered.promise;
    let closed = false;
    const closing = s.server.close().then(() => {
      closed = true;
    });
    // New connections are refused once close() has begun; close() itself waits for the request.
    await assert.rejects(send(s.address, '/healthz'), { code: 'ECONNREFUSED' });
    assert.equal(closed, false);
    gate.resolve(undefined);
    const reply = await pending;
    assert.equal(reply.status, 200);
    assert.deepEqual(JSON.parse(reply.body), { hostname: 'slow' });
    assert.equal(reply.headers.connection, 'close');
    await closing;
    assert.equal(closed, true);
    await s.server.close();
    s.server.destroy();
    await s.server.close();
  });

  void it('close() does not wait for idle keep-alive connections', async () => {
    const s = await start();
    const agent = new http.Agent({ keepAlive: true });
    try {
      assert.equal((await send(s.address, '/healthz', { agent })).status, 200);
      assert.equal(Object.keys(agent.freeSockets).length, 1);
      const begun = Date.now();
      await s.server.close();
      assert.ok(Date.now() - begun < 1000, 'close() waited on an idle socket');
    } finally {
      agent.destroy();
    }
  });

  void it('close() drops requests still running after the grace period', async () => {
    let aborted = false;
    const entered = deferred<undefined>();
    const s = await start({}, {
      limits: { closeGraceMs: 200 },
      routes: [{
        method: 'GET',
        pattern: '/v1/hang',
        handler: async ({ signal }) => {
          entered.resolve(undefined);
          await new Promise((resolve) => signal.addEventListener('abort', resolve));
          aborted = true;
          return { json: {} };
        },
      }],
    });
    const pending = send(s.address, '/v1/hang');
    pending.catch(() => undefined);
    await entered.promise;
    const begun = Date.now();
    await s.server.close();
    const took = Date.now() - begun;
    assert.ok(took >= 150 && took < 2000, `close took ${took} ms`);
    await assert.rejects(pending, { code: 'ECONNRESET' });
    assert.equal(aborted, true);
  });

  void it('destroy() drops in-flight requests at once', async () => {
    const s = await start();
    const entered = deferred<undefined>();
    s.view.hostImpl = async () => {
      entered.resolve(undefined);
      await new Promise(() => undefined);
      return {};
    };
    const pending = send(s.address, '/v1/host');
    pending.catch(() => undefined);
    await entered.promise;
    s.server.destroy();
    s.server.destroy();
    await assert.rejects(pending, { code: 'ECONNRESET' });
    await s.server.close();
  });
});

void describe('HTTPS and mutual TLS', () => {
  let pki: Pki;
  const pem: Record<string, Buffer> = {};
  const path = (name: string): string => pki.path(name);

  before(async () => {
    pki = await createPki({
      cas: ['ca', 'other-ca'],
      leaves: [['server', 'ca', 'server'], ['client', 'ca', 'client'], ['rogue', 'other-ca', 'client']],
    });
    for (const name of ['ca.crt', 'server.crt', 'server.key', 'client.crt', 'client.key', 'rogue.crt', 'rogue.key']) pem[name] = pki.pem(name);
  });
  after(async () => {
    await pki.cleanup();
  });

  const tlsOptions = (clientCa: string | null): ApiOptions['tls'] => ({ cert: path('server.crt'), key: path('server.key'), client_ca: clientCa });

  void it('serves HTTPS to a client pinning the CA; an unpinned client refuses the certificate', async () => {
    const s = await start({ tls: tlsOptions(null) });
    assert.equal(s.address.url, `https://127.0.0.1:${s.address.port}`);
    const reply = await send(s.address, '/v1/containers', { tls: { ca: pem['ca.crt'] } });
    assert.equal(reply.status, 200);
    assert.equal(json<{ containers: unknown[] }>(reply).containers.length, 2);
    await assert.rejects(send(s.address, '/healthz', { tls: {} }), { code: 'UNABLE_TO_VERIFY_LEAF_SIGNATURE' });
    await assert.rejects(send(s.address, '/healthz', { tls: { ca: pem['rogue.crt'] } }), { code: 'UNABLE_TO_VERIFY_LEAF_SIGNATURE' });
  });

  void it('mutual TLS: no client certificate or one from another CA is refused at the TLS layer', async () => {
    const s = await start({ tls: tlsOptions(path('ca.crt')) });
    const ok = await send(s.address, '/v1/host', { tls: { ca: pem['ca.crt'], cert: pem['client.crt'], key: pem['client.key'] } });
    assert.equal(ok.status, 200);
    assert.equal(s.view.hostCalls, 1);
    await assert.rejects(send(s.address, '/v1/host', { tls: { ca: pem['ca.crt'] } }), (err: unknown) =>
      err instanceof Error && /ALERT|ECONNRESET|EPIPE/.test(String((err as { code?: unknown }).code)));
    await assert.rejects(send(s.address, '/v1/host', { tls: { ca: pem['ca.crt'], cert: pem['rogue.crt'], key: pem['rogue.key'] } }), (err: unknown) =>
      err instanceof Error && /ALERT|ECONNRESET|EPIPE/.test(String((err as { code?: unknown }).code)));
    assert.equal(s.view.hostCalls, 1, 'a refused client reached a handler');
  });

  void it('mutual TLS with a token requires both', async () => {
    const file = path('token');
    await writeFile(file, 'tok-mtls');
    const s = await start({ tls: tlsOptions(path('ca.crt')), token_file: file });
    const client = { ca: pem['ca.crt'], cert: pem['client.crt'], key: pem['client.key'] };
    assertError(await send(s.address, '/v1/host', { tls: client }), 401, 'UNAUTHORIZED');
    assert.equal((await send(s.address, '/v1/host', { tls: client, headers: bearer('tok-mtls') })).status, 200);
    assert.equal((await send(s.address, '/healthz', { tls: client })).status, 200);
  });

  void it('past the cap, an HTTPS request gets 503 with Retry-After too', async () => {
    const s = await start({ tls: tlsOptions(null) }, { limits: { maxConnections: 1 } });
    const gate = deferred<undefined>();
    const entered = deferred<undefined>();
    s.view.hostImpl = async () => {
      entered.resolve(undefined);
      await gate.promise;
      return { hostname: 'slow' };
    };
    const client = { ca: pem['ca.crt'] };
    const pending = send(s.address, '/v1/host', { tls: client });
    await entered.promise;
    const refused = await send(s.address, '/healthz', { tls: client });
    assertError(refused, 503, 'UNAVAILABLE');
    assert.equal(refused.headers['retry-after'], '1');
    assert.equal(refused.headers.connection, 'close');
    gate.resolve(undefined);
    assert.equal((await pending).status, 200);
    assert.equal(s.server.connectionStats.rejected.capacity, 1);
  });

  void it('mutual TLS alone allows a non-loopback listener without a token', async () => {
    // Checked up to the bind only: the address is never contacted.
    const s = create({ listen: { host: '0.0.0.0', port: 0 }, tls: tlsOptions(path('ca.crt')) });
    const address = await s.server.start();
    assert.equal(address.url, `https://0.0.0.0:${address.port}`);
    await s.server.close();
  });

  void it('bad TLS files are CONFIG_INVALID naming the key path', async () => {
    const garbage = path('garbage.pem');
    await writeFile(garbage, 'not a certificate\n');
    const cases: Array<[ApiOptions['tls'], RegExp]> = [
      [{ cert: garbage, key: path('server.key'), client_ca: null }, /^api\.tls\.cert: .*garbage\.pem is not a PEM certificate/],
      [{ cert: path('server.crt'), key: garbage, client_ca: null }, /^api\.tls\.key: .*garbage\.pem is not/],
      [{ cert: path('server.crt'), key: path('client.key'), client_ca: null }, /^api\.tls\.key: .*client\.key does not fit api\.tls\.cert/],
      [{ cert: path('server.crt'), key: path('server.key'), client_ca: garbage }, /^api\.tls\.client_ca: .*garbage\.pem is not a PEM certificate/],
      [{ cert: path('missing.crt'), key: path('server.key'), client_ca: null }, /^api\.tls\.cert: cannot read .*missing\.crt: ENOENT$/],
    ];
    for (const [tls, message] of cases) {
      await assert.rejects(create({ tls }).server.start(), (err: unknown) => err instanceof DockhandError && err.code === 'CONFIG_INVALID' && message.test(err.message));
    }
  });
});
