import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { ContainerInspectInfo } from 'dockerode';
import { containerEventFrom, dockerTime, eventTime, imageTag, publishedPorts, recordFromInspect } from '../../../src/docker/records.ts';
import type { ContainerRecord } from '../../../src/docker/types.ts';

test('image tags, with registry ports and digests', () => {
  assert.equal(imageTag('aether:8'), '8');
  assert.equal(imageTag('busybox'), 'latest');
  assert.equal(imageTag('registry.local:5000/team/aether'), 'latest');
  assert.equal(imageTag('registry.local:5000/team/aether:2015-08-19'), '2015-08-19');
  assert.equal(imageTag('aether@sha256:' + 'a'.repeat(64)), '');
  assert.equal(imageTag('sha256:' + 'b'.repeat(64)), '');
});

test('Go zero time means never', () => {
  assert.equal(dockerTime('0001-01-01T00:00:00Z'), null);
  assert.equal(dockerTime(''), null);
  assert.equal(dockerTime('2026-11-22T03:00:00.123Z'), '2026-11-22T03:00:00.123Z');
});

test('published ports keep every binding and skip unpublished ones', () => {
  assert.deepEqual(
    publishedPorts({
      '80/tcp': [{ HostIp: '0.0.0.0', HostPort: '8080' }, { HostIp: '::', HostPort: '8080' }],
      '53/udp': [{ HostIp: '127.0.0.1', HostPort: '5353' }],
      '9000/tcp': null,
    }),
    [
      { containerPort: 53, protocol: 'udp', hostIp: '127.0.0.1', hostPort: 5353 },
      { containerPort: 80, protocol: 'tcp', hostIp: '0.0.0.0', hostPort: 8080 },
      { containerPort: 80, protocol: 'tcp', hostIp: '::', hostPort: 8080 },
    ],
  );
});

// Trimmed from a real `docker inspect` of an exited container on dockerd 20.10.
const inspected = {
  Id: 'f'.repeat(64),
  Name: '/weberror-aether',
  Image: 'sha256:' + 'c'.repeat(64),
  Created: '2026-11-22T02:59:00.000Z',
  RestartCount: 2,
  State: {
    Status: 'exited', Running: false, Paused: false, Restarting: false, OOMKilled: true, Dead: false, Pid: 0, ExitCode: 137,
    Error: '', StartedAt: '2026-11-22T03:00:00.000Z', FinishedAt: '2026-11-22T03:01:00.000Z',
    Health: { Status: 'unhealthy', FailingStreak: 3, Log: [] },
  },
  Config: { Hostname: '778283', Image: 'aether:8', Labels: { 'dockhand.probe.type': 'http' } },
  HostConfig: { NetworkMode: 'bridge', RestartPolicy: { Name: 'on-failure', MaximumRetryCount: 3 }, CgroupParent: '' },
  NetworkSettings: { Networks: { bridge: { IPAddress: '172.17.0.5' } }, Ports: { '8080/tcp': [{ HostIp: '0.0.0.0', HostPort: '18080' }] } },
} as unknown as ContainerInspectInfo;

test('inspect document maps to a ContainerRecord', () => {
  const r = recordFromInspect(inspected, '/docker/' + 'f'.repeat(64), 1234);
  assert.equal(r.name, 'weberror-aether');
  assert.equal(r.image, 'aether:8');
  assert.equal(r.imageTag, '8');
  assert.equal(r.state, 'exited');
  assert.equal(r.health, 'unhealthy');
  assert.equal(r.exitCode, 137);
  assert.equal(r.oomKilled, true);
  assert.equal(r.restartCount, 2);
  assert.equal(r.restartPolicy, 'on-failure');
  assert.equal(r.restartPolicyMaxRetries, 3);
  assert.equal(r.hostname, '778283');
  assert.deepEqual(r.ips, { bridge: '172.17.0.5' });
  assert.deepEqual(r.ports, [{ containerPort: 8080, protocol: 'tcp', hostIp: '0.0.0.0', hostPort: 18080 }]);
  assert.deepEqual(r.labels, { 'dockhand.probe.type': 'http' });
  assert.equal(r.updatedAt, 1234);
});

test('a container that never ran has no exit code', () => {
  const created = structuredClone(inspected) as unknown as { State: Record<string, unknown> };
  created.State = { ...created.State, Status: 'created', ExitCode: 0, StartedAt: '0001-01-01T00:00:00Z', FinishedAt: '0001-01-01T00:00:00Z', Health: undefined };
  const r = recordFromInspect(created as unknown as ContainerInspectInfo, '', 0);
  assert.equal(r.exitCode, null);
  assert.equal(r.startedAt, null);
  assert.equal(r.health, 'none');
  assert.equal(r.state, 'created');
});

test('a Docker event maps to the lifecycle event the agent records', () => {
  const raw = { Type: 'container', Action: 'die', time: 1_700_000_000, timeNano: 0, nano: 1_700_000_000_123_456_789n, Actor: { ID: 'c1', Attributes: { name: 'web', image: 'app:8', exitCode: '137', team: 'core' } } };
  assert.deepEqual(containerEventFrom(raw, 'die', '', undefined), {
    kind: 'container', time: 1_700_000_000_123, action: 'die', containerId: 'c1', containerName: 'web', image: 'app:8', labels: { team: 'core' }, exitCode: 137,
  });
  const health = { ...raw, Action: 'health_status: unhealthy', Actor: { ID: 'c1', Attributes: {} } };
  const known: ContainerRecord = {
    id: 'c1', name: 'web', image: 'app:8', imageTag: '8', imageId: '', labels: { team: 'payments' }, state: 'running', health: 'starting', restartCount: 0, restartPolicy: 'no',
    restartPolicyMaxRetries: 0, exitCode: null, oomKilled: false, createdAt: null, startedAt: null, finishedAt: null, pid: 1, hostname: '', networkMode: 'none', ips: {}, ports: [], cgroupPath: '', updatedAt: 0,
  };
  const e = containerEventFrom(health, 'health_status', 'unhealthy', known);
  assert.equal(e.health, 'unhealthy');
  assert.deepEqual([e.containerName, e.image, e.labels], ['web', 'app:8', { team: 'payments' }], 'from the inventory when the event lacks them');
});

test('an event time is written as Docker writes FinishedAt: RFC 3339 with all nine digits of the nanoseconds', () => {
  assert.equal(eventTime(1_764_710_400_000_000_007n), '2025-12-02T21:20:00.000000007Z');
  assert.equal(eventTime(1_764_710_401_123_456_789n), '2025-12-02T21:20:01.123456789Z');
  // what a die event's time turns into is what Date.parse reads back to the millisecond
  assert.equal(Date.parse(eventTime(1_764_710_401_999_999_999n)), 1_764_710_401_999);
});
