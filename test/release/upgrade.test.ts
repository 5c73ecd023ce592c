// Upgrading N → N+1 keeps the delivery promise (docs/logs.md, Delivery guarantees): while a log
// file keeps growing, release N ships part of it, N+1 is installed over it, and every line
// arrives exactly once — the receiver acknowledges at once, so the documented window (lines sent
// but not acknowledged at the stop) is empty on a graceful stop, and any duplicate is a broken
// promise. Both ways of installing: the .deb on a Debian 12 host with systemd as PID 1 (the unit
// is restarted once, by postinst, and the conffile is kept), and the tarball the Ansible way
// (unpack, switch the `current` link, restart).
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { chmodSync, mkdirSync, mkdtempSync, renameSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, test } from 'node:test';
import type { TestContext } from 'node:test';
import { AgentProcess, cleanEnv } from '../helpers/agent-process.ts';
import { BeatsReceiver } from '../helpers/beats-receiver.ts';
import { DebianHost } from '../helpers/debian-host.ts';
import { ensureDebianImage } from '../helpers/debian-images.ts';
import { resolveTestDockerHost } from '../helpers/docker-engine.ts';
import { freePort } from '../helpers/ports.ts';
import { ensureReleases } from '../helpers/release.ts';
import type { Releases } from '../helpers/release.ts';
import { missing, requireCommands } from '../helpers/requirements.ts';
import { waitFor } from '../helpers/wait.ts';
import { GrowingLog, assertExactlyOnce, receivedLines } from '../helpers/growing-log.ts';

const TOOLS: [string, string][] = [['mmdebstrap', 'mmdebstrap'], ['strip', 'binutils'], ['dpkg-shlibdeps', 'dpkg-dev']];
const work = mkdtempSync(path.join(tmpdir(), 'dockhand-upgrade-test-'));
after(() => rmSync(work, { recursive: true, force: true }));
let fixture: { engine: string; releases: Releases } | undefined;

before(async () => {
  const engine = await resolveTestDockerHost();
  if (!engine || !requireCommands(undefined, TOOLS)) return;
  const [releases] = await Promise.all([ensureReleases(), ensureDebianImage(engine, 'systemd')]);
  fixture = { engine, releases };
}, { timeout: 600_000 });

function ready(t: TestContext): { engine: string; releases: Releases } | undefined {
  if (fixture) return fixture;
  if (requireCommands(t, TOOLS)) missing(t, 'no Docker engine: DOCKHAND_TEST_DOCKER_HOST is unset (run through `npm test` or scripts/test.ts)');
  return undefined;
}

async function api<T>(port: number, p: string): Promise<T> {
  return (await (await fetch(`http://127.0.0.1:${port}${p}`)).json()) as T;
}

/** The agent has read, sent and had acknowledged all of the file (nothing more will come). */
async function caughtUp(port: number, log: GrowingLog): Promise<boolean> {
  const s = await api<{ queuedEvents: number; batchesInFlight: number; files: { path: string; size: number; readOffset: number; ackedOffset: number }[] }>(port, '/v1/logs');
  const f = s.files.find((x) => x.path.endsWith(path.basename(log.path)));
  return s.queuedEvents === 0 && s.batchesInFlight === 0 && f !== undefined && f.size === statSync(log.path).size && f.readOffset === f.size && f.ackedOffset === f.size;
}

void test('the .deb, N → N+1 under systemd: restarted once, conffile kept, every line exactly once', async (t) => {
  const f = ready(t);
  if (!f) return;
  const { current, next } = f.releases;
  const receiver = await BeatsReceiver.start();
  t.after(() => receiver.close());
  const port = await freePort();
  const logs = mkdtempSync(path.join(work, 'deb-logs-'));
  chmodSync(logs, 0o755);
  const socket = f.engine.slice('unix://'.length);
  const host = await DebianHost.start(f.engine, 'systemd', { mounts: [`${f.releases.dir}:/release:ro`, `${logs}:/data/application/logs:ro`, `${socket}:/var/run/docker.sock`] });
  t.after(() => host.remove());
  // a Docker host: the docker group owns the socket. This host's agent gets its own API port and
  // ships to the test's receiver through a drop-in, so the conffile stays as shipped.
  await host.sh(`groupadd --system --non-unique --gid ${statSync(socket).gid} docker`);
  await host.sh(`mkdir -p /etc/systemd/system/dockhand.service.d && cat > /etc/systemd/system/dockhand.service.d/test.conf <<'EOF'
[Service]
Environment=DOCKHAND_API__LISTEN=127.0.0.1:${port}
Environment="DOCKHAND_OUTPUTS=[{type: beats, hosts: [${receiver.address}], backoff_base: 100ms, backoff_max: 1s}]"
EOF`);
  const apt = (deb: string): Promise<{ code: number; stdout: string }> => host.sh(`DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends /release/${path.basename(deb)} 2>&1 </dev/null`, { allowFail: true, timeoutMs: 180_000 });

  const log = new GrowingLog(logs, 'debupgrade');
  t.after(() => log.stop());
  const first = await apt(current.deb);
  assert.equal(first.code, 0, first.stdout);
  assert.ok(!first.stdout.includes('dockhand: warning'), first.stdout);
  assert.equal((await host.sh('systemctl is-active dockhand', { allowFail: true })).stdout.trim(), 'active');
  await waitFor('release N to ship part of the file', () => receivedLines(receiver.events, log).length >= 200, 60_000);
  assert.equal((await api<{ agent: { version: string } }>(port, '/v1/host')).agent.version, current.version);

  const upgrade = await apt(next.deb);
  assert.equal(upgrade.code, 0, upgrade.stdout);
  assert.match(upgrade.stdout, new RegExp(`Unpacking dockhand \\(${next.version}\\) over \\(${current.version}\\)`));
  await waitFor('N+1 to serve', async () => (await api<{ agent: { version: string } }>(port, '/v1/host')).agent.version === next.version, 60_000, 200);
  const atUpgrade = receivedLines(receiver.events, log).length;
  await waitFor('N+1 to ship more of the file', () => receivedLines(receiver.events, log).length >= atUpgrade + 200, 60_000);
  const written = log.stop();
  await waitFor('N+1 to have everything acknowledged', () => caughtUp(port, log), 60_000, 200);
  assertExactlyOnce(receivedLines(receiver.events, log), written);

  // restarted once: one stop, two starts, no crash restart
  const journal = (await host.sh('journalctl -u dockhand -o cat --no-pager')).stdout;
  assert.equal(journal.match(/"msg":"dockhand started"/g)?.length, 2, journal);
  assert.equal(journal.match(/"msg":"signal received, stopping"/g)?.length, 1, journal);
  assert.equal((await host.sh('systemctl show dockhand -p NRestarts --value')).stdout.trim(), '0');
  assert.equal((await host.sh('systemctl is-active dockhand', { allowFail: true })).stdout.trim(), 'active');
  // the conffiles as shipped and every file of N+1 in place: dpkg --verify lists changed files,
  // conffiles included (the image leaves out manuals and docs, as debian:bookworm-slim does)
  const changed = (await host.sh('dpkg --verify dockhand', { allowFail: true })).stdout.split('\n').filter((l) => l && !/ \/usr\/share\/(doc|man)\//.test(l));
  assert.deepEqual(changed, []);
  assert.equal((await host.sh('dockhand version')).stdout, `dockhand ${next.version}\n`);
});

void test('the tarball, N → N+1 the Ansible way (unpack, switch `current`, restart): every line exactly once', async (t) => {
  const f = ready(t);
  if (!f) return;
  const { current, next } = f.releases;
  const receiver = await BeatsReceiver.start();
  t.after(() => receiver.close());
  const root = mkdtempSync(path.join(work, 'opt-'));
  const releasesDir = path.join(root, 'opt', 'dockhand', 'releases');
  mkdirSync(releasesDir, { recursive: true });
  const link = path.join(root, 'opt', 'dockhand', 'current');
  const bin = path.join(root, 'usr-bin-dockhand');
  const unpack = (tarball: string): void => void assert.equal(spawnSync('tar', ['-xzf', tarball, '-C', releasesDir]).status, 0);
  /** `ln -sfn`, atomically: a new link renamed over the old one. */
  const activate = (name: string): void => {
    symlinkSync(`releases/${name}`, `${link}.new`);
    renameSync(`${link}.new`, link);
  };
  unpack(current.tarball);
  activate(current.name);
  symlinkSync(path.join(link, 'bin', 'dockhand'), bin);

  const logs = path.join(root, 'logs');
  mkdirSync(logs);
  const port = await freePort();
  const config = path.join(root, 'dockhand.yaml');
  writeFileSync(config, `state_dir: ${root}/state\ndocker: { host: "${f.engine}" }\napi: { listen: "127.0.0.1:${port}" }\nlogs: { roots: [${logs}] }\noutputs: [{ type: beats, hosts: ["${receiver.address}"], backoff_base: 100ms, backoff_max: 1s }]\n`);
  // /usr/bin first on the PATH: the node there is older than the agent supports, and unused
  const start = (): AgentProcess => new AgentProcess(['run', '--config', config], cleanEnv({ PATH: '/usr/bin:/bin' }), bin);
  const log = new GrowingLog(logs, 'tarupgrade');
  t.after(() => log.stop());
  const old = start();
  t.after(() => old.dispose());
  await waitFor('release N to ship part of the file', () => receivedLines(receiver.events, log).length >= 200 || old.child.exitCode !== null, 60_000);
  assert.equal((await api<{ agent: { version: string } }>(port, '/v1/host')).agent.version, current.version);

  unpack(next.tarball);
  activate(next.name);
  old.child.kill('SIGTERM');
  assert.equal((await old.exited).code, 0, old.stderr);
  const atUpgrade = receivedLines(receiver.events, log).length;
  const upgraded = start();
  t.after(() => upgraded.dispose());
  await waitFor('N+1 to serve', async () => (await api<{ agent: { version: string } }>(port, '/v1/host')).agent.version === next.version, 60_000, 200);
  await waitFor('N+1 to ship more of the file', () => receivedLines(receiver.events, log).length >= atUpgrade + 200, 60_000);
  const written = log.stop();
  await waitFor('N+1 to have everything acknowledged', () => caughtUp(port, log), 60_000, 200);
  assertExactlyOnce(receivedLines(receiver.events, log), written);
  upgraded.child.kill('SIGTERM');
  assert.equal((await upgraded.exited).code, 0);
});
