import assert from 'node:assert/strict';
import { once } from 'node:events';
import { Socket } from 'node:net';
import { describe, it } from 'node:test';
import { ConnectionGate } from '../../../src/api/connection-gate.ts';
import type { RejectReason } from '../../../src/api/connection-gate.ts';

/** A gate on a hand-driven clock, recording what it turned away. */
function gate(maxConnections: number, evictIdleAfterMs = 1_000): { gate: ConnectionGate; clock: { now: number }; rejected: RejectReason[] } {
  const clock = { now: 0 };
  const rejected: RejectReason[] = [];
  const options = { maxConnections, maxSockets: 100 * maxConnections, evictIdleAfterMs, now: () => clock.now, onReject: (r: RejectReason) => rejected.push(r) };
  return { gate: new ConnectionGate(options), clock, rejected };
}

/**
 * Unconnected sockets are enough: the gate watches `close`, reads bytesRead and calls destroy().
 * `bytesRead` is what the client has sent so far (a slowloris: some bytes, never a whole head).
 */
function sockets(n: number, bytesRead = 10): Socket[] {
  return Array.from({ length: n }, () => Object.defineProperty(new Socket(), 'bytesRead', { value: bytesRead }));
}

void describe('ConnectionGate', () => {
  void it('admits maxConnections requests in flight, refuses the next, and admits again after a release', () => {
    const g = gate(2);
    const [a, b, c] = sockets(3) as [Socket, Socket, Socket];
    for (const s of [a, b, c]) g.gate.open(s);
    const releaseA = g.gate.begin(a);
    const releaseB = g.gate.begin(b);
    assert.ok(releaseA && releaseB);
    assert.equal(g.gate.begin(c), null);
    assert.deepEqual(g.rejected, ['capacity']);
    releaseA();
    releaseA();
    assert.equal(g.gate.stats.inFlight, 1, 'a second release of the same request is a no-op');
    assert.ok(g.gate.begin(c));
    assert.deepEqual(g.gate.stats.rejected, { capacity: 1, socket_limit: 0, idle_evicted: 0 });
    g.gate.close();
  });

  void it('past maxConnections open, closes the oldest idle connection old enough, never a busy, unread or young one', () => {
    const g = gate(2, 1_000);
    const [unread] = sockets(1, 0) as [Socket];
    const [busy, idle, young, newest] = sockets(4) as [Socket, Socket, Socket, Socket];
    g.gate.open(unread);
    g.gate.open(busy);
    g.gate.begin(busy);
    g.gate.open(idle);
    g.clock.now = 900;
    g.gate.open(young);
    assert.equal(idle.destroyed, false, 'nothing is old enough yet');
    assert.equal(g.gate.stats.open, 4);

    g.clock.now = 1_500;
    g.gate.open(newest);
    assert.equal(unread.destroyed, false, 'a connection the agent has read nothing from is not known to be slow');
    assert.equal(busy.destroyed, false, 'a connection serving a request is not idle');
    assert.equal(idle.destroyed, true);
    assert.equal(young.destroyed, false, 'one eviction per new connection');
    assert.deepEqual(g.rejected, ['idle_evicted']);
    assert.equal(g.gate.stats.open, 4);
    g.gate.close();
  });

  void it('sweeps idle connections past maxConnections when no new connection comes', (t) => {
    t.mock.timers.enable({ apis: ['setInterval'] });
    const g = gate(1, 100);
    const open = sockets(4);
    for (const s of open) g.gate.open(s);
    assert.equal(g.gate.stats.open, 4);
    g.clock.now = 150;
    t.mock.timers.tick(50);
    assert.deepEqual(open.map((s) => s.destroyed), [true, true, true, false]);
    assert.equal(g.gate.stats.rejected.idle_evicted, 3);
    g.gate.close();
  });

  void it('answers connections opened past half of maxSockets with 503, unless the count is back under half at their request', async () => {
    const rejected: RejectReason[] = [];
    const g = new ConnectionGate({ maxConnections: 100, maxSockets: 4, evictIdleAfterMs: 1_000, onReject: (r) => rejected.push(r) });
    const [a, b, c, d] = sockets(4) as [Socket, Socket, Socket, Socket];
    for (const s of [a, b, c, d]) g.open(s);
    assert.ok(g.begin(a) && g.begin(b), 'the first half are served');
    assert.equal(g.begin(c), null);
    assert.deepEqual(rejected, ['capacity']);
    a.destroy();
    b.destroy();
    await Promise.all([once(a, 'close'), once(b, 'close')]);
    assert.ok(g.begin(d), 'two connections open again: served');
    g.close();
  });

  void it('counts connections node dropped at the socket bound', () => {
    const g = gate(1);
    g.gate.dropped();
    assert.deepEqual(g.rejected, ['socket_limit']);
  });
});
