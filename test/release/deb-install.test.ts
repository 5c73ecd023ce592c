// The .deb on a fresh minimal Debian 12 without systemd as PID 1 (a container with no network):
// `apt-get install ./dockhand_<v>_amd64.deb` works offline, creates the dockhand user, enables
// the unit and warns clearly when there is no docker group; the shipped configuration is valid
// and the agent starts with it as the dockhand user, naming an unreadable log directory and why;
// removal keeps the state, purge deletes it. Under systemd (start, restart on upgrade):
// upgrade.test.ts.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import type { TestContext } from 'node:test';
import { DebianHost } from '../helpers/debian-host.ts';
import { ensureDebianImage } from '../helpers/debian-images.ts';
import { resolveTestDockerHost } from '../helpers/docker-engine.ts';
import { ensureReleases } from '../helpers/release.ts';
import type { Releases } from '../helpers/release.ts';
import { missing, requireCommands } from '../helpers/requirements.ts';
import { waitFor } from '../helpers/wait.ts';

const TOOLS: [string, string][] = [['mmdebstrap', 'mmdebstrap'], ['strip', 'binutils'], ['dpkg-shlibdeps', 'dpkg-dev']];
const NO_DOCKER_GROUP = 'dockhand: warning: this host has no "docker" group';
let releases: Releases | undefined;
let box: DebianHost | undefined;

before(async () => {
  const engine = await resolveTestDockerHost();
  if (!engine || !requireCommands(undefined, TOOLS)) return;
  [releases] = await Promise.all([ensureReleases(), ensureDebianImage(engine, 'minbase')]);
  box = await DebianHost.start(engine, 'minbase', { mounts: [`${releases.dir}:/release:ro`] });
}, { timeout: 600_000 });
after(() => box?.remove());

function ready(t: TestContext): { box: DebianHost; releases: Releases } | undefined {
  if (box && releases) return { box, releases };
  if (requireCommands(t, TOOLS)) missing(t, 'no Docker engine: DOCKHAND_TEST_DOCKER_HOST is unset (run through `npm test` or scripts/test.ts)');
  return undefined;
}

function install(b: DebianHost, r: Releases): Promise<{ code: number; stdout: string }> {
  return b.sh(`DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends /release/dockhand_${r.current.version}_amd64.deb 2>&1`, { allowFail: true });
}

/** GET `path` from the agent's API inside the container, with the bundled node (the host has no curl). */
async function apiGet<T>(b: DebianHost, path: string): Promise<T> {
  const js = `fetch('http://127.0.0.1:9731${path}').then(async (r) => { if (!r.ok) process.exit(1); console.log(await r.text()); }, () => process.exit(1))`;
  const r = await b.sh(`/usr/lib/dockhand/node/bin/node -e "${js}"`);
  return JSON.parse(r.stdout) as T;
}

void test('apt-get installs it offline on a minimal Debian 12; without a docker group it warns and succeeds', async (t) => {
  const s = ready(t);
  if (!s) return;
  const r = await install(s.box, s.releases);
  assert.equal(r.code, 0, r.stdout);
  assert.ok(r.stdout.includes(NO_DOCKER_GROUP), r.stdout);
  assert.match(r.stdout, /status=216\/GROUP/);

  const [, , uid, , , home, shell] = (await s.box.sh('getent passwd dockhand')).stdout.trim().split(':');
  assert.ok(Number(uid) < 1000, `a system user (uid ${uid})`);
  assert.deepEqual([home, shell], ['/var/lib/dockhand', '/usr/sbin/nologin']);
  assert.equal((await s.box.sh('id -nG dockhand')).stdout.trim(), 'dockhand');
  assert.equal((await s.box.sh('stat -c "%U %G %a" /var/lib/dockhand')).stdout.trim(), 'dockhand dockhand 750');
  // enabled without systemd running: deb-systemd-helper wrote the link
  assert.equal((await s.box.sh('readlink /etc/systemd/system/multi-user.target.wants/dockhand.service')).stdout.trim(), '/lib/systemd/system/dockhand.service');
  assert.deepEqual((await s.box.sh("dpkg-query -W -f='${Conffiles}' dockhand")).stdout.trim().split('\n').map((l) => l.trim().split(' ')[0]), ['/etc/dockhand/dockhand.yaml', '/etc/default/dockhand']);
  // nothing but glibc from the host: there is no node here at all
  const node = await s.box.sh('command -v node nodejs', { allowFail: true });
  assert.notEqual(node.code, 0, node.stdout);
  assert.equal(node.stdout, '');
  assert.equal((await s.box.sh('dockhand version')).stdout, `dockhand ${s.releases.current.version}\n`);
});

void test('the shipped configuration passes check-config and the agent runs with it as the dockhand user; an unreadable log directory is named, with the reason', async (t) => {
  const s = ready(t);
  if (!s) return;
  // the log directory exists but is root's alone: the agent must say which path and why
  await s.box.sh('install -d -m 0700 /data/application/logs');
  const check = await s.box.sh('setpriv --reuid=dockhand --regid=dockhand --init-groups dockhand check-config /etc/dockhand/dockhand.yaml', { allowFail: true });
  assert.equal(check.code, 0, check.stderr);
  assert.equal(check.stdout, '/etc/dockhand/dockhand.yaml: configuration OK\n');

  // setpriv execs (no fork), so $! is the agent and SIGTERM reaches it
  const pid = (await s.box.sh('setpriv --reuid=dockhand --regid=dockhand --init-groups dockhand run --config /etc/dockhand/dockhand.yaml > /tmp/agent.log 2>&1 & echo $!')).stdout.trim();
  t.after(() => s.box.sh(`kill -9 ${pid}`, { allowFail: true }));
  await waitFor('the agent to serve /healthz', async () => (await apiGet<{ status: string }>(s.box, '/healthz')).status === 'ok', 30_000, 250);

  interface Root { path: string; readable: boolean; problem: string | null }
  const roots = (await apiGet<{ roots: Root[] }>(s.box, '/v1/logs')).roots;
  assert.equal(roots[0]?.path, '/data/application/logs');
  assert.equal(roots[0]?.readable, false);
  assert.match(roots[0]?.problem ?? '', /^EACCES: permission denied for uid \d+ \(dockhand\): it needs read and search \(r-x\) permission on the directory/);
  const logged = (await s.box.sh('cat /tmp/agent.log')).stdout.split('\n').filter(Boolean).map((l) => JSON.parse(l) as Record<string, unknown>);
  const warning = logged.find((l) => l.msg === 'log root not readable; will look again at every rescan' && l.root === '/data/application/logs');
  assert.ok(warning, `no warning naming the directory in:\n${logged.map((l) => JSON.stringify(l)).join('\n')}`);
  assert.equal(warning.err, 'EACCES');
  assert.equal(warning.problem, roots[0]?.problem);

  // once it is readable, the next rescan says so
  await s.box.sh('chmod 0755 /data/application/logs');
  await waitFor('the root to become readable', async () => (await apiGet<{ roots: Root[] }>(s.box, '/v1/logs')).roots[0]?.readable, 60_000, 500);
  assert.match((await s.box.sh('cat /tmp/agent.log')).stdout, /"root":"\/data\/application\/logs","msg":"log root is readable now"/);

  await s.box.sh(`kill -TERM ${pid}; while kill -0 ${pid} 2>/dev/null; do sleep 0.1; done`, { timeoutMs: 40_000 });
  assert.match((await s.box.sh('cat /tmp/agent.log')).stdout, /"msg":"stopped"/);
});

void test('removal keeps the state and the user, a docker group gets the user added, purge deletes the state', async (t) => {
  const s = ready(t);
  if (!s) return;
  // state as an agent leaves it (its files, owned by dockhand)
  await s.box.sh('setpriv --reuid=dockhand --regid=dockhand --init-groups sh -c "echo state > /var/lib/dockhand/marker"');
  assert.equal((await s.box.sh('DEBIAN_FRONTEND=noninteractive apt-get remove -y dockhand 2>&1', { allowFail: true })).code, 0);
  await s.box.sh('test -f /var/lib/dockhand/marker && getent passwd dockhand && test ! -e /usr/lib/dockhand && test ! -e /usr/bin/dockhand && test -f /etc/dockhand/dockhand.yaml');
  assert.match((await s.box.sh("dpkg-query -W -f='${Status}' dockhand")).stdout, /deinstall ok config-files/);

  await s.box.sh('groupadd --system docker');
  const again = await install(s.box, s.releases);
  assert.equal(again.code, 0, again.stdout);
  assert.ok(!again.stdout.includes(NO_DOCKER_GROUP), again.stdout);
  assert.deepEqual((await s.box.sh('id -nG dockhand')).stdout.trim().split(' ').sort(), ['docker', 'dockhand']);
  await s.box.sh('test -f /var/lib/dockhand/marker');

  assert.equal((await s.box.sh('DEBIAN_FRONTEND=noninteractive apt-get purge -y dockhand 2>&1', { allowFail: true })).code, 0);
  for (const gone of ['/var/lib/dockhand', '/etc/dockhand', '/etc/default/dockhand', '/etc/systemd/system/multi-user.target.wants/dockhand.service', '/usr/lib/dockhand']) {
    assert.equal((await s.box.sh(`test -e ${gone} || test -L ${gone}`, { allowFail: true })).code, 1, `${gone} is still there after purge`);
  }
});
