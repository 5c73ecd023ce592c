// The TCP and HTTP(S) probes against real listeners on 127.0.0.1: status ranges, methods, Host
// header, TLS verification, timeouts, bounded bodies, and a fresh connection per probe.
import assert from 'node:assert/strict';
import { once } from 'node:events';
import http from 'node:http';
import https from 'node:https';
import net from 'node:net';
import type { AddressInfo } from 'node:net';
import { after, before, describe, test } from 'node:test';
import { HttpClients, HttpProbe, TcpProbe } from '../../src/health/probes.ts';
import type { HttpProbeOptions } from '../../src/health/probes.ts';
import { parseStatusRanges } from '../../src/health/status-ranges.ts';
import type { ProbeTarget } from '../../src/health/target.ts';
import { createPki } from '../helpers/pki.ts';
import type { Pki } from '../helpers/pki.ts';

const target = (port: number): ProbeTarget => ({ host: '127.0.0.1', port, via: 'host-network' });
const opts = (over: Partial<HttpProbeOptions> = {}): HttpProbeOptions => {
  const expectText = over.expectText ?? '200-399';
  return { method: 'GET', path: '/', expect: parseStatusRanges(expectText) as { from: number; to: number }[], expectText, hostHeader: null, tls: false, tlsVerify: true, ...over };
};

async function listen(server: net.Server): Promise<number> {
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  return (server.address() as AddressInfo).port;
}

/** A port nothing listens on (bound, then closed). */
async function closedPort(): Promise<number> {
  const s = net.createServer();
  const port = await listen(s);
  await new Promise((r) => s.close(r));
  return port;
}

describe('TCP probe', () => {
  test('an open port connects; a closed one is refused', async () => {
    const server = net.createServer((sock) => sock.end());
    const port = await listen(server);
    try {
      const ok = await new TcpProbe(1000).check(target(port));
      assert.equal(ok.ok, true);
      assert.equal(ok.detail, 'connected');
      const refused = await new TcpProbe(1000).check(target(await closedPort()));
      assert.equal(refused.ok, false);
      assert.equal(refused.failure, 'refused');
      assert.equal(refused.detail, 'ECONNREFUSED');
    } finally {
      server.close();
    }
  });

  test('an aborted probe ends at once, as a failure', async () => {
    const server = net.createServer(() => undefined);
    const port = await listen(server);
    try {
      const ac = new AbortController();
      ac.abort();
      const r = await new TcpProbe(1000).check(target(port), ac.signal);
      assert.equal(r.ok, false);
    } finally {
      server.close();
    }
  });
});

describe('HTTP probe', () => {
  const prober = new HttpClients();
  const seen: { method: string; url: string; host: string; connection: string; remotePort: number }[] = [];
  const sockets = new Set<net.Socket>();
  let connections = 0;
  let port = 0;
  const server = http.createServer((req, res) => {
    seen.push({ method: req.method ?? '', url: req.url ?? '', host: req.headers.host ?? '', connection: req.headers.connection ?? '', remotePort: req.socket.remotePort ?? 0 });
    const status = Number(/^\/status\/(\d{3})/.exec(req.url ?? '')?.[1] ?? 200);
    if (req.url === '/hang') return; // never answers
    if (req.url === '/big') {
      res.writeHead(200, { 'content-type': 'application/octet-stream' });
      // 8 MiB the probe must not read to the end
      let sent = 0;
      const chunk = Buffer.alloc(64 * 1024, 120);
      const pump = (): void => {
        while (sent < 8 * 1024 * 1024) {
          sent += chunk.length;
          if (!res.write(chunk)) return void res.once('drain', pump);
        }
        res.end();
      };
      res.on('close', () => sent = Infinity);
      return pump();
    }
    res.writeHead(status, { location: '/elsewhere' });
    res.end(req.method === 'HEAD' ? undefined : 'body');
  });
  server.on('connection', (s: net.Socket) => {
    connections++;
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
  });

  before(async () => {
    port = await listen(server);
  });
  after(async () => {
    await prober.close();
    server.closeAllConnections();
    server.close();
  });

  test('2xx and 3xx pass by default; 4xx and 5xx fail with the status; redirects are not followed', async () => {
    const results = await Promise.all([200, 204, 302, 404, 503].map((s) => new HttpProbe(opts({ path: `/status/${s}` }), 1000, prober).check(target(port))));
    assert.deepEqual(results.map((r) => [r.ok, r.status, r.failure]), [[true, 200, undefined], [true, 204, undefined], [true, 302, undefined], [false, 404, 'status'], [false, 503, 'status']]);
    assert.equal(results[3]?.detail, 'HTTP 404 (expected 200-399)');
    assert.ok(!seen.some((s) => s.url === '/elsewhere'));
  });

  test('expect narrows what passes', async () => {
    const r = await new HttpProbe(opts({ path: '/status/302', expect: parseStatusRanges('200') as { from: number; to: number }[], expectText: '200' }), 1000, prober).check(target(port));
    assert.equal(r.ok, false);
    assert.equal(r.detail, 'HTTP 302 (expected 200)');
  });

  test('method, path and Host header are sent as declared; every probe opens its own connection', async () => {
    seen.length = 0;
    const before = connections;
    for (const method of ['GET', 'HEAD', 'POST'] as const) {
      const r = await new HttpProbe(opts({ method, path: '/health?deep=1', hostHeader: 'shop.example:8080' }), 1000, prober).check(target(port));
      assert.equal(r.ok, true, r.detail);
    }
    assert.deepEqual(seen.map((s) => [s.method, s.url, s.host, s.connection]), [
      ['GET', '/health?deep=1', 'shop.example:8080', 'close'],
      ['HEAD', '/health?deep=1', 'shop.example:8080', 'close'],
      ['POST', '/health?deep=1', 'shop.example:8080', 'close'],
    ]);
    assert.equal(connections - before, 3);
    assert.equal(new Set(seen.map((s) => s.remotePort)).size, 3);
  });

  test('a server that never answers is a timeout, and its connection is released', async () => {
    const r = await new HttpProbe(opts({ path: '/hang' }), 300, prober).check(target(port));
    assert.equal(r.ok, false);
    assert.equal(r.failure, 'timeout');
    assert.match(r.detail, /no answer within 300 ms/);
    for (let i = 0; i < 50 && [...sockets].some((s) => !s.destroyed); i++) await new Promise((res) => setTimeout(res, 20));
    assert.equal([...sockets].filter((s) => !s.destroyed).length, 0);
  });

  test('a huge body is not read to its end', async () => {
    const r = await new HttpProbe(opts({ path: '/big' }), 5000, prober).check(target(port));
    assert.equal(r.ok, true);
    for (let i = 0; i < 50 && sockets.size > 0; i++) await new Promise((res) => setTimeout(res, 20));
    assert.equal(sockets.size, 0);
  });

  test('a refused connection fails as refused', async () => {
    const r = await new HttpProbe(opts(), 1000, prober).check(target(await closedPort()));
    assert.equal(r.ok, false);
    assert.equal(r.failure, 'refused');
    assert.match(r.detail, /ECONNREFUSED/);
  });
});

describe('HTTPS probe', () => {
  let pki: Pki;
  let server: https.Server;
  let port = 0;
  const prober = new HttpClients();

  before(async () => {
    pki = await createPki({ cas: ['ca'], leaves: [['server', 'ca', 'server']] });
    server = https.createServer({ cert: pki.pem('server.crt'), key: pki.pem('server.key') }, (_req, res) => res.end('ok'));
    port = await listen(server);
  });
  after(async () => {
    await prober.close();
    server.close();
    await pki.cleanup();
  });

  test('an untrusted certificate fails with tls_verify, passes without it', async () => {
    const verified = await new HttpProbe(opts({ tls: true }), 2000, prober).check(target(port));
    assert.equal(verified.ok, false);
    assert.equal(verified.failure, 'tls');
    const unverified = await new HttpProbe(opts({ tls: true, tlsVerify: false }), 2000, prober).check(target(port));
    assert.equal(unverified.ok, true, unverified.detail);
    assert.equal(unverified.status, 200);
  });

  test('plain HTTP against a TLS port fails', async () => {
    const r = await new HttpProbe(opts(), 2000, prober).check(target(port));
    assert.equal(r.ok, false);
  });
});
