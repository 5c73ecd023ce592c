// The host sweep on real files and sockets without a Docker engine: a /proc tree holding a
// dockerd command line with --tlsverify and its TLS files (certificates made with openssl, the
// key of another certificate), a daemon.json naming a mirror and an insecure registry (TLS
// servers on loopback), Docker itself unreachable — each input described, nothing crashing.
import assert from 'node:assert/strict';
import { chmod, mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createServer as createNetServer } from 'node:net';
import type { AddressInfo, Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createServer } from 'node:tls';
import { after, before, test } from 'node:test';
import Docker from 'dockerode';
import { runHostSweep } from '../../src/audit/host-sweep.ts';
import type { Outcome } from '../../src/audit/outcome.ts';
import { createPki } from '../helpers/pki.ts';
import type { Pki } from '../helpers/pki.ts';

let dir = '';
let pki: Pki;
const servers: Server[] = [];

async function listen(server: Server): Promise<number> {
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  servers.push(server);
  return (server.address() as AddressInfo).port;
}

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'dockhand-audit-host-'));
  pki = await createPki({ cas: ['ca', 'other-ca'], leaves: [['daemon', 'ca', 'server'], ['mirror', 'other-ca', 'server']] });
});
after(async () => {
  for (const s of servers) s.close();
  await pki.cleanup();
  await rm(dir, { recursive: true, force: true });
});

test('a TLS daemon\'s files, its mirror and insecure registry, Docker unreachable: each finding from the real files and sockets', async () => {
  // a mirror whose chain the system CAs do not know, and a plain-HTTP "registry" named insecure
  const mirrorPort = await listen(createServer({ cert: pki.pem('mirror.crt'), key: pki.pem('mirror.key') }, (s) => s.end()));
  const plainPort = await listen(createNetServer((s) => s.end('HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n')));
  const etc = join(dir, 'etc-docker');
  await mkdir(etc, { mode: 0o755 });
  await chmod(etc, 0o755);
  const daemonJson = join(etc, 'daemon.json');
  await writeFile(daemonJson, JSON.stringify({ 'registry-mirrors': [`https://127.0.0.1:${mirrorPort}`], 'insecure-registries': [`127.0.0.1:${plainPort}`, '10.0.0.0/8'], 'log-opts': { 'max-size': '10m' } }), { mode: 0o644 });
  await chmod(daemonJson, 0o644);
  const sock = join(dir, 'docker.sock'); // nothing listens: Docker is unreachable
  const proc = join(dir, 'proc');
  await mkdir(join(proc, '4242'), { recursive: true });
  await mkdir(join(proc, '4243'), { recursive: true });
  await writeFile(join(proc, '4242', 'comm'), 'dockerd\n');
  const argv = ['/usr/bin/dockerd', '-H', `unix://${sock}`, '-H', 'tcp://0.0.0.0:2376', '--tlsverify', '--tlscacert', pki.path('ca.crt'),
    '--tlscert', pki.path('daemon.crt'), `--tlskey=${pki.path('other-ca.key')}`, '--config-file', daemonJson];
  await writeFile(join(proc, '4242', 'cmdline'), `${argv.join('\0')}\0`);
  await writeFile(join(proc, '4243', 'comm'), 'sleep\n');

  const sweep = await runHostSweep({
    docker: new Docker({ socketPath: sock }), callTimeoutMs: 2000, socketPath: sock, procRoot: proc, daemonConfig: '/nonexistent/daemon.json',
    certsDir: join(dir, 'no-certs.d'), registryTimeoutMs: 2000, ownCertificates: [], skip: () => false,
  });
  const by = (check: string): Outcome[] => sweep.outcomes.filter((o) => o.check === check);

  assert.deepEqual(by('daemon.tcp_without_tls'), [], '--tlsverify on the TCP host');
  assert.deepEqual(by('daemon.no_live_restore').map((o) => o.detail), ['docker unreachable']);
  assert.equal(by('daemon.no_new_privileges')[0]?.status, 'fail', 'daemon.json was read (through --config-file) and sets none');
  assert.deepEqual(by('daemon.log_unbounded').map((o) => o.detail), ['docker unreachable'], 'the log driver comes from docker info');
  // the key is another certificate's, and openssl wrote it 0600, not 0400
  assert.deepEqual(by('cert.key_mismatch').map((o) => o.target), [pki.path('other-ca.key')]);
  assert.deepEqual(by('files.tls_key').map((o) => [o.target, o.detail]), [[pki.path('other-ca.key'), 'mode 0600 (want 0400 or stricter)']]);
  assert.deepEqual(by('files.daemon_json'), [], 'root:root 0644');
  assert.deepEqual(sweep.certificates.map((c) => [c.use, c.subject]), [['daemon --tlscacert', 'CN=ca'], ['daemon --tlscert', 'CN=daemon']]);
  assert.ok(by('cert.expiring').length === 2, 'two-day certificates expire within 30 days');
  // registries from the daemon's configuration: the exact x509 failure, the plain-HTTP one, no CIDR
  const tls = new Map(by('registry.tls').map((o) => [o.target, o]));
  assert.deepEqual([...tls.keys()].sort(), [`registry:127.0.0.1:${mirrorPort}`, `registry:127.0.0.1:${plainPort}`].sort());
  assert.match(tls.get(`registry:127.0.0.1:${mirrorPort}`)?.detail ?? '', /^x509: UNABLE_TO_VERIFY_LEAF_SIGNATURE: .*\(system CAs only\)$/);
  assert.match(tls.get(`registry:127.0.0.1:${plainPort}`)?.detail ?? '', /^x509: ERR_SSL_WRONG_VERSION_NUMBER/);
});

test('no dockerd in /proc (an agent in a container without --pid host): said, not passed', async () => {
  const proc = join(dir, 'empty-proc');
  await mkdir(proc, { recursive: true });
  const sock = join(dir, 'none.sock');
  const sweep = await runHostSweep({
    docker: new Docker({ socketPath: sock }), callTimeoutMs: 1000, socketPath: sock, procRoot: proc, daemonConfig: '/nonexistent/daemon.json',
    certsDir: join(dir, 'no-certs.d'), registryTimeoutMs: 1000, ownCertificates: [{ path: join(dir, 'gone.crt'), use: 'api.tls.cert' }], skip: (c) => c === 'daemon.icc',
  });
  const tcp = sweep.outcomes.find((o) => o.check === 'daemon.tcp_without_tls');
  assert.equal(tcp?.status, 'not_checked');
  assert.match(tcp.detail, /^no dockerd process visible/);
  assert.ok(!sweep.outcomes.some((o) => o.status === 'fail' && o.check.startsWith('daemon.')));
  assert.ok(!sweep.outcomes.some((o) => o.check === 'daemon.icc'), 'a skipped check says nothing');
});
