// Probe target resolution: host networking, published ports, container IPs, and the errors that
// must never turn into a probe of some other service.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { ContainerRecord, PublishedPort } from '../../../src/docker/types.ts';
import { formatTarget, resolveTarget } from '../../../src/health/target.ts';

function record(over: Partial<ContainerRecord>): ContainerRecord {
  return {
    id: 'a'.repeat(64), name: 'web', image: 'app:1', imageTag: '1', imageId: 'sha256:1', labels: {}, state: 'running', health: 'none',
    restartCount: 0, restartPolicy: 'no', restartPolicyMaxRetries: 0, exitCode: null, oomKilled: false, createdAt: null, startedAt: null,
    finishedAt: null, pid: 1, hostname: 'h', networkMode: 'bridge', ips: { bridge: '172.17.0.5' }, ports: [], cgroupPath: '', updatedAt: 0, ...over,
  };
}
const port = (containerPort: number, hostIp: string, hostPort: number, protocol: PublishedPort['protocol'] = 'tcp'): PublishedPort => ({ containerPort, hostIp, hostPort, protocol });
const none = (): undefined => undefined;

test('host networking dials 127.0.0.1 on the port itself', () => {
  assert.deepEqual(resolveTarget(record({ networkMode: 'host', ips: {} }), 8080, none), { ok: true, target: { host: '127.0.0.1', port: 8080, via: 'host-network' } });
});

test('a published port is dialled on loopback for 0.0.0.0 and 127.0.0.1 bindings, ::1 for ::, else the bound host IP', () => {
  const r = (ports: PublishedPort[]) => resolveTarget(record({ ports }), 80, none);
  assert.deepEqual(r([port(80, '0.0.0.0', 32768)]), { ok: true, target: { host: '127.0.0.1', port: 32768, via: 'published' } });
  assert.deepEqual(r([port(80, '127.0.0.1', 8081)]), { ok: true, target: { host: '127.0.0.1', port: 8081, via: 'published' } });
  assert.deepEqual(r([port(80, '::', 32769)]), { ok: true, target: { host: '::1', port: 32769, via: 'published' } });
  assert.deepEqual(r([port(80, '::', 32769), port(80, '0.0.0.0', 32768)]), { ok: true, target: { host: '127.0.0.1', port: 32768, via: 'published' } });
  assert.deepEqual(r([port(80, '10.1.2.3', 8080)]), { ok: true, target: { host: '10.1.2.3', port: 8080, via: 'published' } });
});

test('an unpublished port on a bridge or user network is dialled on the container IP, never on loopback', () => {
  assert.deepEqual(resolveTarget(record({ ports: [port(443, '0.0.0.0', 8443)] }), 80, none), { ok: true, target: { host: '172.17.0.5', port: 80, via: 'container-ip' } });
  const user = record({ networkMode: 'shop_net', ips: { other: '10.9.0.2', shop_net: '10.8.0.7' } });
  assert.deepEqual(resolveTarget(user, 80, none), { ok: true, target: { host: '10.8.0.7', port: 80, via: 'container-ip' } });
});

test('network mode none, or no address at all, is an error naming the port', () => {
  const n = resolveTarget(record({ networkMode: 'none', ips: {} }), 8080, none);
  assert.equal(n.ok, false);
  assert.match(n.ok ? '' : n.error, /port 8080\/tcp is not reachable: network mode none/);
  const noIp = resolveTarget(record({ ips: { bridge: '' } }), 8080, none);
  assert.match(noIp.ok ? '' : noIp.error, /8080\/tcp is not published and the container has no IP address/);
  const udp = resolveTarget(record({ ips: {}, ports: [port(53, '0.0.0.0', 53, 'udp')] }), 53, none);
  assert.match(udp.ok ? '' : udp.error, /published for udp only/);
});

test('an unset port means the only published TCP port', () => {
  const one = resolveTarget(record({ ports: [port(80, '0.0.0.0', 32768), port(80, '::', 32768), port(53, '0.0.0.0', 53, 'udp')] }), null, none);
  assert.deepEqual(one, { ok: true, target: { host: '127.0.0.1', port: 32768, via: 'published' } });
  const two = resolveTarget(record({ ports: [port(80, '0.0.0.0', 1), port(81, '0.0.0.0', 2)] }), null, none);
  assert.match(two.ok ? '' : two.error, /publishes 2 TCP ports \(80, 81\)/);
  const zero = resolveTarget(record({}), null, none);
  assert.match(zero.ok ? '' : zero.error, /publishes no TCP port/);
  const host = resolveTarget(record({ networkMode: 'host' }), null, none);
  assert.match(host.ok ? '' : host.error, /required under host networking/);
});

test('container:<id> networking resolves through the other container, one level only', () => {
  const web = record({ id: 'b'.repeat(64), networkMode: 'host' });
  const sidecar = record({ networkMode: `container:${web.id}`, ips: {} });
  assert.deepEqual(resolveTarget(sidecar, 9000, (ref) => (ref === web.id ? web : undefined)), { ok: true, target: { host: '127.0.0.1', port: 9000, via: 'host-network' } });
  const missing = resolveTarget(sidecar, 9000, none);
  assert.match(missing.ok ? '' : missing.error, /network mode container:b+: that container is not known/);
  const loop = record({ networkMode: `container:${'a'.repeat(64)}` });
  assert.equal(resolveTarget(loop, 1, () => loop).ok, false);
});

test('formatTarget brackets IPv6', () => {
  assert.equal(formatTarget({ host: '::1', port: 80, via: 'published' }), '[::1]:80');
  assert.equal(formatTarget({ host: '127.0.0.1', port: 80, via: 'published' }), '127.0.0.1:80');
});
