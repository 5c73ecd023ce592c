import assert from 'node:assert/strict';
import { test } from 'node:test';
import { DockhandError } from '../../../src/core/errors.ts';
import { ConnectionPool } from '../../../src/outputs/connection-pool.ts';
import type { BatchConnection, ConnectionEnd } from '../../../src/outputs/connection-pool.ts';
import type { StreamEndpoint } from '../../../src/outputs/endpoint.ts';
import { NO_INSTRUMENTS } from '../../../src/outputs/output-metrics.ts';
import type { SendOutcome } from '../../../src/outputs/types.ts';
import { silentLogger } from '../../helpers/outputs.ts';
import { waitFor } from '../../helpers/wait.ts';

class FakeConnection implements BatchConnection {
  readonly host: string;
  alive = true;
  busy = 0;
  readonly ended: Promise<ConnectionEnd>;
  #resolve!: (end: ConnectionEnd) => void;

  constructor(host: string) {
    this.host = host;
    this.ended = new Promise((r) => {
      this.#resolve = r;
    });
  }

  end(healthy: boolean): void {
    if (!this.alive) return;
    this.alive = false;
    this.#resolve({ error: new DockhandError('UNAVAILABLE', `${this.host} ended`, { transient: true }), healthy, idle: true });
  }

  sendBatch(): Promise<SendOutcome> {
    return Promise.resolve({ kind: 'acked' });
  }

  drain(): Promise<void> {
    this.end(true);
    return Promise.resolve();
  }

  destroy(): void {
    this.end(false);
  }
}

const endpoints = (...labels: string[]): StreamEndpoint[] => labels.map((label, i) => ({ label, host: '127.0.0.1', port: 1000 + i }));

/** A pool whose connects follow `script` ('ok' | 'fail', in call order) and whose backoff sleeps are recorded, not waited. */
function scriptedPool(options: { hosts: string[]; loadbalance: boolean; script: ('ok' | 'fail')[] }) {
  const attempts: string[] = [];
  const sleeps: number[] = [];
  const conns: FakeConnection[] = [];
  const parked: (() => void)[] = [];
  const pool = new ConnectionPool<FakeConnection>({
    name: 'test',
    endpoints: endpoints(...options.hosts),
    loadbalance: options.loadbalance,
    backoffBaseMs: 100,
    backoffMaxMs: 400,
    random: () => 0.999999,
    logger: silentLogger,
    instruments: NO_INSTRUMENTS,
    // Sleeps return at once, but the script running out parks the loop until the test ends.
    sleep: (ms) => {
      sleeps.push(ms);
      return Promise.resolve(true);
    },
    connect: async (endpoint) => {
      attempts.push(endpoint.label);
      const step = options.script.shift();
      if (step === undefined) await new Promise<void>((r) => parked.push(r));
      if (step !== 'ok') throw new DockhandError('UNAVAILABLE', `${endpoint.label} refused`, { transient: true });
      const c = new FakeConnection(endpoint.label);
      conns.push(c);
      return c;
    },
  });
  const stop = (): void => {
    pool.destroy(new DockhandError('UNAVAILABLE', 'test over'));
    for (const r of parked) r();
  };
  return { pool, attempts, sleeps, conns, stop };
}

test('failover walks the hosts in order, and backs off (jittered, doubling) only after a whole round fails', async () => {
  const t = scriptedPool({ hosts: ['a', 'b'], loadbalance: false, script: ['fail', 'fail', 'fail', 'fail', 'fail', 'fail', 'fail', 'fail'] });
  t.pool.start();
  await waitFor('9 attempts', () => t.attempts.length === 9);
  t.stop();
  assert.deepEqual(t.attempts, ['a', 'b', 'a', 'b', 'a', 'b', 'a', 'b', 'a']);
  assert.deepEqual(t.sleeps, [100, 200, 400, 400]);
  assert.deepEqual(t.pool.hosts().map((h) => h.state), ['closed', 'closed']);
  assert.equal(t.pool.reconnects, 8);
});

test('failover: a healthy connection that ends is retried on the same host after a reset backoff; an unhealthy one moves on', async () => {
  const t = scriptedPool({ hosts: ['a', 'b'], loadbalance: false, script: ['fail', 'ok', 'ok', 'fail', 'fail'] });
  t.pool.start();
  await waitFor('b connected', () => t.conns.length === 1);
  assert.equal(t.pool.state(), 'connected');
  assert.deepEqual(t.pool.hosts().map((h) => h.state), ['disconnected', 'connected']);
  t.conns[0]?.end(true);
  await waitFor('b again', () => t.conns.length === 2);
  assert.deepEqual(t.attempts, ['a', 'b', 'b']);
  t.conns[1]?.end(false); // unhealthy: next host at once, then b, then a round's backoff
  await waitFor('round done', () => t.attempts.length === 6);
  t.stop();
  assert.deepEqual(t.attempts, ['a', 'b', 'b', 'a', 'b', 'a']);
  // 100 after the healthy end (reset), nothing between a and b, 200 after the failed round.
  assert.deepEqual(t.sleeps, [100, 200]);
});

test('loadbalance: each host has its own loop; an accepted-then-closed connection does not reset the backoff', async () => {
  const t = scriptedPool({ hosts: ['a'], loadbalance: true, script: ['ok', 'ok', 'ok'] });
  t.pool.start();
  for (let i = 1; i <= 3; i++) {
    await waitFor(`connection ${i}`, () => t.conns.length === i);
    t.conns[i - 1]?.end(false);
  }
  await waitFor('4th attempt', () => t.attempts.length === 4);
  t.stop();
  assert.deepEqual(t.sleeps, [100, 200, 400]);
});

test('acquire waits for a connection, prefers the least busy, rotates among equals, and gives up on abort or close', async () => {
  const t = scriptedPool({ hosts: ['a', 'b'], loadbalance: true, script: [] });
  // Nothing connects: acquire waits until aborted.
  t.pool.start();
  const ac = new AbortController();
  const waiting = t.pool.acquire(ac.signal);
  ac.abort();
  assert.equal(await waiting, null);
  t.stop();
  assert.equal(await t.pool.acquire(new AbortController().signal), null, 'closed pool');

  const u = scriptedPool({ hosts: ['a', 'b'], loadbalance: true, script: ['ok', 'ok'] });
  const early = u.pool.acquire(new AbortController().signal);
  u.pool.start();
  assert.ok((await early) instanceof FakeConnection);
  await waitFor('both connected', () => u.conns.length === 2);
  const picks: string[] = [];
  for (let i = 0; i < 4; i++) picks.push(((await u.pool.acquire(new AbortController().signal)) as FakeConnection).host);
  assert.deepEqual(picks.sort(), ['a', 'a', 'b', 'b'], 'round-robin among idle connections');
  const a = u.conns.find((c) => c.host === 'a') as FakeConnection;
  a.busy = 3;
  for (let i = 0; i < 3; i++) assert.equal(((await u.pool.acquire(new AbortController().signal)) as FakeConnection).host, 'b');
  a.alive = false; // ending: never picked
  (u.conns.find((c) => c.host === 'b') as FakeConnection).busy = 9;
  assert.equal(((await u.pool.acquire(new AbortController().signal)) as FakeConnection).host, 'b');
  u.stop();
});
