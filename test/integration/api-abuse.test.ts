/**
 * The API under abuse, on 127.0.0.1 with a shrunk connection cap: a burst of requests past the
 * cap, and slowloris clients (connections trickling header bytes, never finishing a request).
 * Asserts who got which answer, never how long anything took.
 */
import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import { setTimeout as delay } from 'node:timers/promises';
import { pino } from 'pino';
import { ApiServer } from '../../src/api/server.ts';
import type { ApiAddress, ApiLimits } from '../../src/api/server.ts';
import type { AgentView, Readiness } from '../../src/api/view.ts';
import type { ContainerRecord, RecordedEvent } from '../../src/docker/types.ts';
import { getOnce, Slowloris, tally } from '../helpers/api-abuse.ts';
import type { Outcome } from '../helpers/api-abuse.ts';
import { waitFor } from '../helpers/wait.ts';

const CAP = 8;
const METRICS = '# HELP dockhand_up 1 when up\n# TYPE dockhand_up gauge\ndockhand_up 1\n';

/** A view whose /metrics answers wait on `gate` while it is set: requests stay in flight until released. */
class GatedView implements AgentView {
  gate: Promise<void> | null = null;
  readiness(): Readiness {
    return { ready: true, checks: [] };
  }
  host(): Promise<Record<string, unknown>> {
    return Promise.resolve({});
  }
  containers(): ContainerRecord[] {
    return [];
  }
  container(): ContainerRecord | undefined {
    return undefined;
  }
  events(): RecordedEvent[] {
    return [];
  }
  async metrics(): Promise<{ contentType: string; body: string }> {
    if (this.gate !== null) await this.gate;
    return { contentType: 'text/plain; version=0.0.4; charset=utf-8', body: METRICS };
  }
}

const servers: ApiServer[] = [];
after(() => {
  for (const server of servers) server.destroy();
});

async function start(limits: Partial<ApiLimits>): Promise<{ server: ApiServer; view: GatedView; address: ApiAddress }> {
  const view = new GatedView();
  const server = new ApiServer({
    options: { listen: { host: '127.0.0.1', port: 0 }, token_file: null, tls: null, metrics_auth: false },
    view,
    logger: pino({ level: 'silent' }),
    limits,
  });
  servers.push(server);
  return { server, view, address: await server.start() };
}

/** Legitimate traffic during an attack: /healthz and /metrics, one after another, each on a new connection. */
async function legitimate(address: ApiAddress, rounds: number): Promise<Outcome[]> {
  const outcomes: Outcome[] = [];
  for (let i = 0; i < rounds; i++) {
    outcomes.push(await getOnce(address.port, '/healthz'), await getOnce(address.port, '/metrics'));
    await delay(20);
  }
  return outcomes;
}

void describe('API under abuse', () => {
  void it('answers every request past the cap: 200 for those within it, 503 with Retry-After for the rest, none dropped', async () => {
    const N = 5 * CAP;
    // maxSockets far above N: this is about the request cap, not the socket bounds. Idle eviction
    // is kept out of the way so a slow machine cannot make it close a connection before its request.
    const { view, address } = await start({ maxConnections: CAP, maxSockets: 4 * N, evictIdleAfterMs: 60_000 });
    let release = (): void => undefined;
    view.gate = new Promise<void>((resolve) => (release = resolve));
    const settled: Outcome[] = [];
    const all = Promise.all(Array.from({ length: N }, () => getOnce(address.port, '/metrics').then((o) => (settled.push(o), o))));
    // CAP requests wait on the gate; every other one must be answered (or dropped) meanwhile.
    await waitFor(`${N - CAP} requests settled`, () => settled.length >= N - CAP, 10_000).catch(() => undefined);
    release();
    const outcomes = await all;

    assert.deepEqual(tally(outcomes), { '200': CAP, '503': N - CAP });
    for (const o of outcomes) {
      if ('error' in o || o.status !== 503) continue;
      assert.match(o.headers['retry-after'] ?? '', /^\d+$/);
      assert.equal(o.headers.connection, 'close');
      assert.equal(o.headers['content-type'], 'application/json; charset=utf-8');
      const body = JSON.parse(o.body) as { error: { code: string; message: string } };
      assert.equal(body.error.code, 'UNAVAILABLE');
      assert.equal(typeof body.error.message, 'string');
    }
  });

  void it('serves /healthz and /metrics during a slowloris of more connections than the cap', async () => {
    // Header and request timeouts far beyond the test, so only the connection handling keeps the API reachable.
    const { address } = await start({ maxConnections: CAP, headersTimeoutMs: 60_000, requestTimeoutMs: 60_000 });
    const attack = new Slowloris(address.port, 3 * CAP, { reconnect: true });
    try {
      await attack.connected(CAP);
      const outcomes = await legitimate(address, 10);
      assert.deepEqual(tally(outcomes), { '200': 20 });
      assert.ok(attack.open >= CAP, `the slowloris was still holding ${attack.open} connections`);
    } finally {
      attack.stop();
    }
  });

  void it('evicts idle slowloris connections that hold every socket the agent allows, so new requests get in', async () => {
    const { address } = await start({ maxConnections: CAP, maxSockets: 2 * CAP, headersTimeoutMs: 60_000, requestTimeoutMs: 60_000, evictIdleAfterMs: 200 });
    const attack = new Slowloris(address.port, 2 * CAP, { reconnect: false });
    try {
      await attack.connected(2 * CAP);
      // Once older than evictIdleAfterMs, the idle connections past the cap are closed, oldest first.
      await waitFor('idle connections evicted', () => attack.closedByServer >= CAP, 5_000).catch(() => undefined);
      const outcomes = await legitimate(address, 5);
      assert.deepEqual(tally(outcomes), { '200': 10 });
      assert.ok(attack.closedByServer >= CAP, `${attack.closedByServer} slowloris connections were closed`);
    } finally {
      attack.stop();
    }
  });
});
