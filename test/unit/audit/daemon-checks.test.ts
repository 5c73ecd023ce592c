// The daemon and file checks over `docker info` (recorded from a real dockerd), parsed daemon
// settings and stats — including what is reported when an input could not be read.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { checkDaemon, checkFiles } from '../../../src/audit/daemon-checks.ts';
import type { DaemonInputs, DockerInfoLike } from '../../../src/audit/daemon-checks.ts';
import { daemonSettings, parseDaemonArgs, servesSocket } from '../../../src/audit/daemon-settings.ts';

const INFO = JSON.parse(readFileSync(new URL('fixtures/docker-info.json', import.meta.url), 'utf8')) as DockerInfoLike;
const ARGV = ['--config-file', '/tmp/d/daemon.json', '--data-root', '/tmp/d/data', '-H', 'unix:///tmp/d/docker.sock', '--bridge=none', '--iptables=false', '-H', 'tcp://127.0.0.1:2375'];

function inputs(over: Partial<DaemonInputs> = {}, json: Record<string, unknown> = {}): DaemonInputs {
  return { info: INFO, settings: daemonSettings(parseDaemonArgs(ARGV), json), settingsGap: '', configFile: 'ok', bridgeIcc: null, ...over };
}

function byCheck(d: DaemonInputs): Map<string, { status: string; detail: string }> {
  return new Map(checkDaemon(d).map((o) => [o.check, { status: o.status, detail: o.detail }]));
}

test('dockerd command lines: -H, --flag=value, booleans, repeated flags; which daemon serves a socket', () => {
  const args = parseDaemonArgs(ARGV);
  assert.deepEqual(args.values.get('host'), ['unix:///tmp/d/docker.sock', 'tcp://127.0.0.1:2375']);
  assert.equal(args.values.get('bridge')?.[0], 'none');
  assert.equal(args.booleans.get('iptables'), false);
  assert.equal(servesSocket(args.values.get('host') ?? [], '/tmp/d/docker.sock'), true);
  assert.equal(servesSocket(args.values.get('host') ?? [], '/var/run/docker.sock'), false);
  assert.equal(servesSocket([], '/var/run/docker.sock'), true, 'no -H: the default socket');
  assert.equal(servesSocket(['fd://'], '/var/run/docker.sock'), true, 'systemd socket activation');
});

test('a recorded default daemon: TCP without --tlsverify, no live-restore, no userns, no no-new-privileges, no ulimits, json-file without max-size', () => {
  const found = byCheck(inputs());
  assert.match(found.get('daemon.tcp_without_tls')?.detail ?? '', /tcp:\/\/127\.0\.0\.1:2375 without --tlsverify/);
  for (const c of ['daemon.no_live_restore', 'daemon.no_userns_remap', 'daemon.no_new_privileges', 'daemon.no_default_ulimits', 'daemon.log_unbounded']) assert.equal(found.get(c)?.status, 'fail', c);
  assert.equal(found.has('daemon.insecure_registries'), false, '127.0.0.0/8 is Docker\'s own default');
  assert.equal(found.has('daemon.experimental'), false);
  assert.equal(found.has('daemon.icc'), false, 'no default bridge');
});

test('a hardened daemon.json clears the settings it covers; --tlsverify clears the TCP finding', () => {
  const json = { 'no-new-privileges': true, 'default-ulimits': { nofile: { Name: 'nofile', Hard: 64000, Soft: 64000 } }, 'log-opts': { 'max-size': '10m' }, tlsverify: true };
  const info = { ...INFO, LiveRestoreEnabled: true, SecurityOptions: ['name=seccomp,profile=default', 'name=userns'] };
  assert.deepEqual([...byCheck(inputs({ info }, json)).keys()], []);
});

test('insecure registries, experimental, icc on the default bridge', () => {
  const info: DockerInfoLike = { ...INFO, ExperimentalBuild: true, RegistryConfig: { InsecureRegistryCIDRs: ['127.0.0.0/8', '10.0.0.0/8'], IndexConfigs: { 'reg.local:5000': { Name: 'reg.local:5000', Secure: false } } } };
  const found = byCheck(inputs({ info, bridgeIcc: true }));
  assert.equal(found.get('daemon.insecure_registries')?.detail, 'insecure registries: 10.0.0.0/8, reg.local:5000');
  assert.equal(found.get('daemon.experimental')?.status, 'fail');
  assert.equal(found.get('daemon.icc')?.status, 'fail');
});

test('an unreadable daemon.json (unprivileged agent): settings it could hold are "not checked: permission", never a pass', () => {
  const found = byCheck(inputs({ configFile: 'permission' }));
  for (const c of ['daemon.no_new_privileges', 'daemon.no_default_ulimits', 'daemon.log_unbounded']) {
    assert.equal(found.get(c)?.status, 'not_checked', c);
    assert.match(found.get(c)?.detail ?? '', /^permission/);
  }
  assert.equal(found.get('daemon.tcp_without_tls')?.status, 'fail', 'the command line alone shows the TCP listener');
});

test('no dockerd process visible, Docker unreachable: said, per check', () => {
  const found = byCheck(inputs({ settings: null, settingsGap: 'no dockerd process visible', info: null, bridgeIcc: undefined }));
  assert.equal(found.get('daemon.tcp_without_tls')?.detail, 'no dockerd process visible');
  assert.equal(found.get('daemon.no_live_restore')?.detail, 'docker unreachable');
  assert.equal(found.get('daemon.icc')?.status, 'not_checked');
  for (const o of found.values()) assert.equal(o.status, 'not_checked');
});

test('file ownership and modes: socket root:docker 660, /etc/docker 755, daemon.json 644, TLS key 400; unreadable is not checked', () => {
  const out = checkFiles([
    { check: 'files.docker_socket', path: '/run/docker.sock', status: 'ok', uid: 0, gid: 998, group: 'docker', mode: 0o660 },
    { check: 'files.etc_docker', path: '/etc/docker', status: 'ok', uid: 0, gid: 0, mode: 0o775 },
    { check: 'files.daemon_json', path: '/etc/docker/daemon.json', status: 'ok', uid: 1000, gid: 0, mode: 0o644 },
    { check: 'files.tls_key', path: '/etc/docker/key.pem', status: 'permission' },
    { check: 'files.daemon_json', path: '/nowhere/daemon.json', status: 'missing' },
  ]);
  assert.deepEqual(out.map((o) => [o.check, o.status, o.detail]), [
    ['files.etc_docker', 'fail', 'mode 0775 (want 0755 or stricter)'],
    ['files.daemon_json', 'fail', 'owner uid 1000 (want root)'],
    ['files.tls_key', 'not_checked', 'permission'],
  ]);
});
