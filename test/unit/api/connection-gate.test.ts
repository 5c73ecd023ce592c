import assert from 'node:assert/strict';
import { once } from 'node:events';
import { Socket } from 'node:net';
import { describe, it } from 'node:test';
import { ConnectionGate } from '../../../src/api/connection-gate.ts';
import type { ConnectionGateOptions, RejectReason } from '../../../src/api/connection-gate.ts';

/** A gate on a hand-driven clock, recording what it turned away. */
function gate(options: Partial<ConnectionGateOptions>): { gate: ConnectionGate; clock: { now: number }; rejected: RejectReason[] } {
  const clock = { now: 0 };
  const rejected: RejectReason[] = [];
  const g = new ConnectionGate({ maxConnections: 100, maxSockets: 200, evictIdleAfterMs: 1_000, now: () => clock.now, onReject: (r) => rejected.push(r), ...options });
  return { gate: g, clock, rejected };
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
    const g = gate({ maxConnections: 2 });
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

  void it('past half of maxSockets open, closes the oldest idle connection old enough, never a busy, unread or young one', () => {
    const g = gate({ maxSockets: 6, evictIdleAfterMs: 1_000 });
    const [unread] = sockets(1, 0) as [Socket];
    const [busy, idle, young, newest] = sockets(4) as [Socket, Socket, Socket, Socket];
    g.gate.open(unread);
    g.gate.open(busy);
    g.gate.begin(busy);
    g.gate.open(idle);
    g.clock.now = 900;
    g.gate.open(young);
    assert.equal(g.gate.stats.open, 4);

    g.clock.now = 1_500;
    g.gate.open(newest);
    assert.equal(unread.destroyed, false, 'a connection the agent has read nothing from is not known to be slow');
    assert.equal(busy.destroyed, false, 'a connection serving a request is not idle');
    assert.equal(idle.destroyed, true);
    assert.equal(young.destroyed, false);
    assert.deepEqual(g.rejected, ['idle_evicted']);
    assert.equal(g.gate.stats.open, 4);
    g.gate.close();
  });

  void it('evicts nothing while open connections fit in half of maxSockets, however many exceed maxConnections', () => {
    const g = gate({ maxConnections: 1, maxSockets: 8 });
    const open = sockets(3);
    for (const s of open) g.gate.open(s);
    g.clock.now = 10_000;
    g.gate.open(sockets(1)[0] as Socket);
    assert.equal(g.gate.stats.open, 4);
    assert.deepEqual(open.map((s) => s.destroyed), [false, false, false]);
    g.gate.close();
  });

  void it('sweeps idle connections past half of maxSockets when no new connection comes', (t) => {
    t.mock.timers.enable({ apis: ['setInterval'] });
    const g = gate({ maxSockets: 2, evictIdleAfterMs: 100 });
    const open = sockets(4);
    for (const s of open) g.gate.open(s);
    assert.equal(g.gate.stats.open, 4);
    g.clock.now = 150;
    t.mock.timers.tick(50);
    assert.deepEqual(open.map((s) => s.destroyed), [true, true, true, false]);
    assert.equal(g.gate.stats.rejected.idle_evicted, 3);
    g.gate.close();
  });

  void it('answers 503 on a connection opened with no room made, unless there is room again at its request', async () => {
    const g = gate({ maxSockets: 4 });
    const [a, b, c, d] = sockets(4) as [Socket, Socket, Socket, Socket];
    for (const s of [a, b, c, d]) g.gate.open(s);
    assert.ok(g.gate.begin(a) && g.gate.begin(b), 'the first two fit');
    assert.equal(g.gate.begin(c), null, 'nothing idle and old enough to evict: c is an overflow connection');
    assert.deepEqual(g.rejected, ['capacity']);
    a.destroy();
    b.destroy();
    await Promise.all([once(a, 'close'), once(b, 'close')]);
    assert.ok(g.gate.begin(d), 'two connections open again: served');
    g.gate.close();
  });

  void it('counts connections node dropped at the socket bound', () => {
    const g = gate({});
    g.gate.dropped();
    assert.deepEqual(g.rejected, ['socket_limit']);
  });
});
