// Docker over TCP with TLS client certificates, as a daemon run with `dockerd --tlsverify` requires:
// the watcher connects with the right certificate and is refused (reported, not crashed) with a
// certificate from another CA or with plain HTTP.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { pino } from 'pino';
import type { Config } from '../../src/configuration.ts';
import { DockhandError } from '../../src/core/errors.ts';
import { RecentEvents } from '../../src/docker/recent-events.ts';
import { createDockerClient } from '../../src/docker/client.ts';
import { ContainerInventory } from '../../src/docker/inventory.ts';
import { DockerWatcher } from '../../src/docker/watcher.ts';
import { TEST_LABEL, docker, ensureTestImage, requireDocker, startPrivateDockerd } from '../helpers/docker-engine.ts';
import type { PrivateDockerd } from '../helpers/docker-engine.ts';
import { createPki } from '../helpers/pki.ts';
import type { Pki } from '../helpers/pki.ts';
import { waitFor } from '../helpers/wait.ts';
import { freePort } from '../helpers/ports.ts';

type DockerConfig = Config['docker'];

function watcherFor(config: DockerConfig, logLines: string[] = []) {
  const inventory = new ContainerInventory();
  const watcher = new DockerWatcher({
    docker: createDockerClient(config),
    inventory,
    events: new RecentEvents(100),
    logger: pino({ level: 'debug' }, { write: (line: string) => void logLines.push(line) }),
    reconnectBaseMs: 100,
    reconnectMaxMs: 500,
    resyncIntervalMs: 0,
    callTimeoutMs: 5000,
  });
  return { inventory, watcher };
}

const base: DockerConfig = { host: '', tls: null, allow_insecure: false, timeout: 5000, reconnect_base: 100, reconnect_max: 500, resync_interval: 0, events_buffer: 100 };

void describe('Docker API over TCP with TLS client certificates', () => {
  let pki: Pki | undefined;
  let daemon: PrivateDockerd | undefined;
  let tcp = '';

  before(async () => {
    if (!(await requireDocker(undefined))) return;
    pki = await createPki({ cas: ['ca', 'rogue-ca'], leaves: [['daemon', 'ca', 'server'], ['agent', 'ca', 'client'], ['rogue', 'rogue-ca', 'client']] });
    const port = await freePort();
    tcp = `tcp://127.0.0.1:${port}`;
    daemon = await startPrivateDockerd({
      name: 'tls',
      extraArgs: ['--tlsverify', '--tlscacert', pki.path('ca.crt'), '--tlscert', pki.path('daemon.crt'), '--tlskey', pki.path('daemon.key'), '-H', tcp],
    });
  });
  after(async () => {
    await daemon?.cleanup();
    await pki?.cleanup();
  });

  void it('connects with the CA and a client certificate and sees the containers', { timeout: 60_000 }, async (t) => {
    if (!daemon || !pki) return t.skip('no docker');
    const image = await ensureTestImage(daemon.host);
    const id = (await docker(daemon.host, ['run', '-d', '--label', TEST_LABEL, '--network', 'none', image, 'sleep', '300'])).stdout.trim();
    const { inventory, watcher } = watcherFor({ ...base, host: tcp, tls: { ca: pki.path('ca.crt'), cert: pki.path('agent.crt'), key: pki.path('agent.key') } });
    watcher.start();
    t.after(() => watcher.stop());
    await waitFor('connected over TLS', () => watcher.state === 'connected', 30_000);
    assert.equal(inventory.byId(id)?.state, 'running');
  });

  void it('a client certificate from another CA is refused, reported, and retried', { timeout: 30_000 }, async (t) => {
    if (!daemon || !pki) return t.skip('no docker');
    const lines: string[] = [];
    const { watcher } = watcherFor({ ...base, host: tcp, tls: { ca: pki.path('ca.crt'), cert: pki.path('rogue.crt'), key: pki.path('rogue.key') } }, lines);
    watcher.start();
    t.after(() => watcher.stop());
    await waitFor('reported', () => watcher.state === 'disconnected' && watcher.lastError, 10_000);
    // Refused again on each retry (the watcher logs every further attempt), never connected.
    await waitFor('two more attempts', () => lines.filter((l) => l.includes('Docker still unreachable')).length >= 2, 10_000);
    assert.notEqual(watcher.state, 'connected');
  });

  void it('a daemon certificate not signed by the configured CA is refused', { timeout: 30_000 }, async (t) => {
    if (!daemon || !pki) return t.skip('no docker');
    const { watcher } = watcherFor({ ...base, host: tcp, tls: { ca: pki.path('rogue-ca.crt'), cert: pki.path('agent.crt'), key: pki.path('agent.key') } });
    watcher.start();
    t.after(() => watcher.stop());
    await waitFor('reported', () => watcher.state === 'disconnected' && watcher.lastError, 10_000);
    assert.match(watcher.lastError, /certificate|self.signed|verify/i);
  });

  void it('plain HTTP to the TLS port never connects (when explicitly allowed at all)', { timeout: 30_000 }, async (t) => {
    if (!daemon) return t.skip('no docker');
    const { watcher } = watcherFor({ ...base, host: tcp, allow_insecure: true });
    watcher.start();
    t.after(() => watcher.stop());
    await waitFor('reported', () => watcher.state === 'disconnected' && watcher.lastError, 10_000);
    assert.notEqual(watcher.state, 'connected');
  });
});

void describe('createDockerClient', () => {
  void it('refuses plain TCP unless allow_insecure, and names an unreadable TLS file', () => {
    assert.throws(() => createDockerClient({ ...base, host: 'tcp://127.0.0.1:2375' }), (e) => e instanceof DockhandError && e.code === 'DOCKER_INSECURE');
    assert.throws(
      () => createDockerClient({ ...base, host: 'tcp://127.0.0.1:2376', tls: { ca: '/nonexistent/ca.pem', cert: '/x', key: '/y' } }),
      (e) => e instanceof DockhandError && e.code === 'CONFIG_INVALID' && /docker\.tls\.ca: cannot read \/nonexistent\/ca\.pem/.test(e.message),
    );
  });
});
