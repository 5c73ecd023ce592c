// The per-container checks against inspect documents recorded from a real dockerd (Debian's
// 20.10, cgroup v1) for containers created with the flags the issue names; see fixtures/.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { checkContainer, unpinnedImage } from '../../../src/audit/container-checks.ts';
import type { ContainerContext, ContainerInspect } from '../../../src/audit/container-checks.ts';

function fixture(name: string): ContainerInspect {
  return JSON.parse(readFileSync(new URL(`fixtures/${name}.json`, import.meta.url), 'utf8')) as ContainerInspect;
}

function checks(name: string, ctx: Partial<ContainerContext> = {}): Map<string, string> {
  const info = fixture(name);
  const socket = (info.Mounts ?? []).find((m) => m.Destination === '/var/run/docker.sock')?.Source ?? '/var/run/docker.sock';
  const out = checkContainer(info, { probed: false, dockerSockets: [socket], ...ctx });
  for (const o of out) {
    assert.equal(o.status, 'fail');
    assert.equal(o.target, `container:${name}`);
    assert.equal(o.containerId, info.Id);
  }
  return new Map(out.map((o) => [o.check, o.detail]));
}

const UNLIMITED = ['container.root_user', 'container.no_memory_limit', 'container.no_pids_limit', 'container.no_cpu_shares', 'container.writable_rootfs', 'container.no_healthcheck', 'container.image_unpinned'];

test('--privileged: privileged, plus the defaults of an unlimited root container', () => {
  assert.deepEqual([...checks('privileged').keys()].sort(), ['container.privileged', ...UNLIMITED].sort());
});

test('host network, pid, ipc and uts namespaces are each a finding', () => {
  const found = checks('host-namespaces');
  for (const c of ['container.host_network', 'container.host_pid', 'container.host_ipc', 'container.host_uts']) assert.ok(found.has(c), c);
  assert.equal(found.has('container.privileged'), false);
});

test('docker.sock and /etc mounts, SYS_ADMIN, seccomp and AppArmor unconfined, --user 0, on-failure without a maximum', () => {
  const found = checks('socket-and-root');
  assert.match(found.get('container.docker_socket') ?? '', /docker\.sock mounted at \/var\/run\/docker\.sock \(read-write\)/);
  assert.match(found.get('container.sensitive_mount') ?? '', /host \/etc mounted at \/host-etc \(read-only\)/);
  assert.equal(found.get('container.dangerous_capabilities'), 'adds SYS_ADMIN', 'NET_BIND_SERVICE is not in the dangerous set');
  assert.ok(found.has('container.seccomp_unconfined'));
  assert.ok(found.has('container.apparmor_unconfined'));
  assert.equal(found.get('container.root_user'), 'runs as user 0');
  assert.ok(found.has('container.restart_unbounded'));
});

test('--read-only --memory 64m --pids-limit 64 --cpu-shares --user 1000 --cap-drop ALL with a health check: only the unpinned image', () => {
  assert.deepEqual([...checks('hardened').keys()], ['container.image_unpinned']);
});

test('a privileged port on all addresses is a finding; on 127.0.0.1 it is not', () => {
  const detail = checks('published').get('container.privileged_port') ?? '';
  assert.match(detail, /80\/tcp published on host port 80 of all addresses/);
  assert.doesNotMatch(detail, /443/);
});

test('a dockhand probe stands in for a HEALTHCHECK', () => {
  assert.equal(checks('privileged', { probed: true }).has('container.no_healthcheck'), false);
});

test('the daemon\'s data root is sensitive wherever it is', () => {
  const info = fixture('hardened');
  info.Mounts = [{ Type: 'bind', Source: '/srv/docker/volumes/x', Destination: '/x', RW: true }, { Type: 'volume', Source: '/srv/docker/volumes/y/_data', Destination: '/y', RW: true }];
  const out = checkContainer(info, { probed: true, dockerSockets: [], dockerRootDir: '/srv/docker' });
  assert.deepEqual(out.filter((o) => o.check === 'container.sensitive_mount').map((o) => o.detail), ['host /srv/docker/volumes/x mounted at /x (read-write)']);
});

test('image references: latest (implicit or explicit) and tags without a digest are unpinned; digests and ids are not', () => {
  assert.match(unpinnedImage('busybox') ?? '', /tag latest \(implicit\)/);
  assert.match(unpinnedImage('registry.local:5000/app:latest') ?? '', /tag latest,/);
  assert.match(unpinnedImage('registry.local:5000/app') ?? '', /implicit/);
  assert.match(unpinnedImage('app:1.4') ?? '', /no digest/);
  assert.equal(unpinnedImage(`app:1.4@sha256:${'a'.repeat(64)}`), undefined);
  assert.equal(unpinnedImage(`sha256:${'b'.repeat(64)}`), undefined);
});
