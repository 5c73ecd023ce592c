// The Ansible role (deploy/ansible/roles/dockhand, played by deploy/ansible/site.yml) against a
// real host: Debian 12 with systemd as PID 1 in a container on the suite's engine, reached with
// Debian's ansible-playbook through the community.docker.docker connection, the suite's Docker
// socket mounted as a Docker host's would be. One host for the whole file, its tests in order:
// install, a run that changes nothing, a change the agent applies live (reload), one that needs
// a restart, a configuration the role must refuse, a crash systemd recovers from, and a stop. Every run
// is made with -v and --diff, and none of their output may contain the API token.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { chmodSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, test } from 'node:test';
import type { TestContext } from 'node:test';
import { BeatsReceiver } from '../helpers/beats-receiver.ts';
import { DebianHost } from '../helpers/debian-host.ts';
import { ensureDebianImage } from '../helpers/debian-images.ts';
import { TEST_IMAGE, TEST_LABEL, docker, resolveTestDockerHost } from '../helpers/docker-engine.ts';
import { createPki } from '../helpers/pki.ts';
import { freePort } from '../helpers/ports.ts';
import { REPO, ensureReleases } from '../helpers/release.ts';
import type { Releases } from '../helpers/release.ts';
import { missing, requireCommands } from '../helpers/requirements.ts';
import { waitFor } from '../helpers/wait.ts';
import { GrowingLog, assertExactlyOnce, receivedLines } from '../helpers/growing-log.ts';

const TOOLS: [string, string][] = [['mmdebstrap', 'mmdebstrap'], ['strip', 'binutils'], ['dpkg-shlibdeps', 'dpkg-dev'], ['ansible-playbook', 'ansible']];
const ANSIBLE = path.join(REPO, 'deploy', 'ansible');
const TOKEN = `tok-${randomBytes(16).toString('hex')}`;
const work = mkdtempSync(path.join(tmpdir(), 'dockhand-ansible-test-'));
after(() => rmSync(work, { recursive: true, force: true }));

interface Fixture {
  engine: string;
  releases: Releases;
  host: DebianHost;
  logs: string;
  /** Two Logstash stand-ins: the role first points the agent at a, later at b (mutual TLS). */
  a: BeatsReceiver;
  b: BeatsReceiver;
  /** What the role writes for b: the CA of b's certificate, the agent's client certificate and key. */
  tlsFiles: { path: string; content: string }[];
  /** The engine's DockerRootDir: its containers/ is mounted at the same path, as on a Docker host. */
  dockerRoot: string;
  /** The API port of the first configuration, and the one a restart moves it to. */
  port: number;
  movedPort: number;
}

let fixture: Fixture | undefined;
const cleanups: (() => Promise<void>)[] = [];
/** Everything every ansible-playbook run printed: checked for the token at the end. */
const outputs: string[] = [];

before(async () => {
  const engine = await resolveTestDockerHost();
  if (!engine || !requireCommands(undefined, TOOLS)) return;
  const [releases] = await Promise.all([ensureReleases(), ensureDebianImage(engine, 'systemd')]);
  const logs = mkdtempSync(path.join(work, 'logs-'));
  chmodSync(logs, 0o755);
  const socket = engine.slice('unix://'.length);
  const dockerRoot = (await docker(engine, ['info', '--format', '{{.DockerRootDir}}'])).stdout.trim();
  // DAC_READ_SEARCH: Docker's default set lacks it, so systemd in the container could not grant it
  // (dockhand_read_docker_log_files); a host's systemd has every capability.
  const host = await DebianHost.start(engine, 'systemd', { mounts: [`${logs}:/data/application/logs:ro`, `${socket}:/var/run/docker.sock`, `${dockerRoot}/containers:${dockerRoot}/containers:ro`], capAdd: ['DAC_READ_SEARCH'] });
  // a Docker host: Docker (installed before dockhand) made the docker group that owns the socket
  await host.sh(`groupadd --system --non-unique --gid ${statSync(socket).gid} docker`);
  const pki = await createPki({ cas: ['ca', 'client-ca'], leaves: [['logstash', 'ca', 'server'], ['agent', 'client-ca', 'client']] });
  cleanups.push(() => pki.cleanup());
  const tls = { cert: pki.pem('logstash.crt'), key: pki.pem('logstash.key'), ca: pki.pem('client-ca.crt'), requireClientCert: true };
  const [a, b, port, movedPort] = await Promise.all([BeatsReceiver.start(), BeatsReceiver.start({ tls }), freePort(), freePort()]);
  const tlsFiles = [['tls/logstash-ca.crt', 'ca.crt'], ['tls/agent.crt', 'agent.crt'], ['tls/agent.key', 'agent.key']]
    .map(([dest, file]) => ({ path: `/etc/dockhand/${dest}`, content: pki.pem(file as string).toString() }));
  fixture = { engine, releases, host, logs, a, b, tlsFiles, dockerRoot, port, movedPort };
}, { timeout: 600_000 });

after(async () => {
  await fixture?.host.remove();
  await fixture?.a.close();
  await fixture?.b.close();
  for (const cleanup of cleanups) await cleanup();
});

function ready(t: TestContext): Fixture | undefined {
  if (fixture) return fixture;
  if (requireCommands(t, TOOLS)) missing(t, 'no Docker engine: DOCKHAND_TEST_DOCKER_HOST is unset (run through `npm test` or scripts/test.ts)');
  return undefined;
}

interface PlayResult {
  code: number;
  output: string;
  /** The PLAY RECAP counters of the host. */
  recap: Record<string, number>;
  seconds: number;
}

/** ansible-playbook site.yml against the host, with `vars` as extra variables (-v --diff). */
async function play(f: Fixture, vars: Record<string, unknown>): Promise<PlayResult> {
  const dir = mkdtempSync(path.join(work, 'play-'));
  // the connection is root already (no sudo in the image): become is off for this host
  writeFileSync(path.join(dir, 'inventory.yml'), JSON.stringify({
    docker_hosts: { hosts: { [f.host.name]: { ansible_connection: 'community.docker.docker', ansible_become: false, ansible_python_interpreter: '/usr/bin/python3' } } },
  }));
  writeFileSync(path.join(dir, 'vars.json'), JSON.stringify(vars), { mode: 0o600 });
  const env = {
    ...process.env,
    DOCKER_HOST: f.engine,
    ANSIBLE_LOCAL_TEMP: path.join(dir, 'tmp'),
    ANSIBLE_NOCOLOR: '1',
    ANSIBLE_PIPELINING: '1',
    ANSIBLE_RETRY_FILES_ENABLED: '0',
  };
  const args = ['-i', path.join(dir, 'inventory.yml'), path.join(ANSIBLE, 'site.yml'), '-e', `@${path.join(dir, 'vars.json')}`, '-v', '--diff'];
  const started = Date.now();
  const { code, output } = await new Promise<{ code: number; output: string }>((resolve, reject) => {
    // cwd: the scratch directory, so that no ansible.cfg but the defaults applies
    const child = spawn('ansible-playbook', args, { cwd: dir, env, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => (out += d.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), 280_000);
    child.on('error', reject);
    child.on('close', (c) => {
      clearTimeout(timer);
      resolve({ code: c ?? -1, output: out });
    });
  });
  outputs.push(output);
  const line = new RegExp(`^${f.host.name}\\s+:\\s+(.*)$`, 'm').exec(output)?.[1] ?? '';
  const recap = Object.fromEntries([...line.matchAll(/(\w+)=(\d+)/g)].map((m) => [m[1] as string, Number(m[2])]));
  return { code, output, recap, seconds: (Date.now() - started) / 1000 };
}

async function timedPlay(t: TestContext, f: Fixture, v: Record<string, unknown>): Promise<PlayResult> {
  const run = await play(f, v);
  t.diagnostic(`ansible-playbook: ${run.seconds.toFixed(1)} s, ${JSON.stringify(run.recap)}`);
  return run;
}

function vars(f: Fixture, config: Record<string, unknown>): Record<string, unknown> {
  const tls = JSON.stringify(config).includes('/etc/dockhand/tls/');
  return { dockhand_package_file: f.releases.current.deb, dockhand_api_token: TOKEN, dockhand_config: config, dockhand_tls_files: tls ? f.tlsFiles : [] };
}

/** The configuration of the first run: the API on a free port, logs to receiver a (b: with TLS). */
function config(f: Fixture, o: { port?: number; receiver?: BeatsReceiver; interval?: string } = {}): Record<string, unknown> {
  const receiver = o.receiver ?? f.a;
  const tls = receiver === f.b ? { tls: { ca: '/etc/dockhand/tls/logstash-ca.crt', cert: '/etc/dockhand/tls/agent.crt', key: '/etc/dockhand/tls/agent.key' } } : {};
  return {
    api: { listen: `127.0.0.1:${o.port ?? f.port}` },
    outputs: [{ type: 'beats', hosts: [receiver.address], backoff_base: '100ms', backoff_max: '1s', ...tls }],
    metrics: { interval: o.interval ?? '2s' },
  };
}

async function get(port: number, p: string, token: string | null = TOKEN): Promise<Response> {
  return fetch(`http://127.0.0.1:${port}${p}`, { headers: token ? { authorization: `Bearer ${token}` } : {}, signal: AbortSignal.timeout(5_000) });
}

async function getJson<T>(port: number, p: string): Promise<T> {
  const res = await get(port, p);
  assert.equal(res.status, 200, `${p}: ${res.status}`);
  return (await res.json()) as T;
}

async function mainPid(f: Fixture): Promise<number> {
  return Number((await f.host.sh('systemctl show dockhand -p MainPID --value')).stdout.trim());
}

async function isActive(f: Fixture): Promise<string> {
  return (await f.host.sh('systemctl is-active dockhand', { allowFail: true })).stdout.trim();
}

/** The task lines ansible printed for `name`: `changed:`, `ok:`, `skipping:`, `fatal:`. */
function taskOutcome(output: string, name: string): string | undefined {
  const at = output.indexOf(`: ${name}] *`);
  if (at < 0) return undefined;
  return /^(changed|ok|skipping|fatal|failed)\b/m.exec(output.slice(at))?.[1];
}

/** The agent has read, sent and had acknowledged all of the file. */
async function caughtUp(port: number, log: GrowingLog): Promise<boolean> {
  const s = await getJson<{ queuedEvents: number; batchesInFlight: number; files: { path: string; size: number; readOffset: number; ackedOffset: number }[] }>(port, '/v1/logs');
  const file = s.files.find((x) => x.path.endsWith(path.basename(log.path)));
  return s.queuedEvents === 0 && s.batchesInFlight === 0 && file !== undefined && file.size === statSync(log.path).size && file.ackedOffset === file.size;
}

interface HostAnswer { agent: { pid: number; lastReload: { applied: string[]; pendingRestart: string[]; failed: unknown[] } | null } }

void test('first run: the .deb installed, the agent running under the shipped hardened unit, token and config root:dockhand 0640', async (t) => {
  const f = ready(t);
  if (!f) return;
  const run = await timedPlay(t, f, vars(f, config(f)));
  assert.equal(run.code, 0, run.output);
  assert.equal(run.recap.failed, 0, run.output);
  assert.ok((run.recap.changed ?? 0) > 0, run.output);
  assert.equal(await isActive(f), 'active');

  // the unit as the package ships it, from the repository, without drop-ins
  const shown = (await f.host.sh('systemctl show dockhand -p FragmentPath -p DropInPaths -p NRestarts')).stdout;
  assert.match(shown, /^FragmentPath=\/lib\/systemd\/system\/dockhand\.service$/m);
  assert.match(shown, /^DropInPaths=$/m);
  assert.equal((await f.host.sh('cat /lib/systemd/system/dockhand.service')).stdout, readFileSync(path.join(REPO, 'systemd', 'dockhand.service'), 'utf8'));
  // its confinement is in force on the running process: the dockhand user, no capability, no
  // privilege gain, a seccomp filter
  const status = (await f.host.sh(`cat /proc/${await mainPid(f)}/status`)).stdout;
  const uid = (await f.host.sh('id -u dockhand')).stdout.trim();
  assert.match(status, new RegExp(`^Uid:\\s+${uid}\\s+${uid}\\s`, 'm'));
  assert.match(status, /^CapEff:\s+0000000000000000$/m);
  assert.match(status, /^CapBnd:\s+0000000000000000$/m);
  assert.match(status, /^NoNewPrivs:\s+1$/m);
  assert.match(status, /^Seccomp:\s+2$/m);
  for (const file of ['/etc/dockhand/token', '/etc/dockhand/dockhand.yaml']) {
    assert.equal((await f.host.sh(`stat -c '%a %U %G' ${file}`)).stdout.trim(), '640 root dockhand', file);
  }
  assert.equal((await f.host.sh('cat /etc/dockhand/token')).stdout, `${TOKEN}\n`);

  // the API with the token: ready (Docker, the output, the state files), nothing without it
  assert.equal((await get(f.port, '/healthz', null)).status, 200);
  assert.equal((await get(f.port, '/readyz', null)).status, 401);
  await waitFor('/readyz 200 with the token', async () => (await get(f.port, '/readyz')).status === 200, 60_000, 250);
  // Docker through the socket and the docker group: the inventory lists this host's own container
  const { containers } = await getJson<{ containers: { name: string }[] }>(f.port, '/v1/containers');
  assert.ok(containers.some((c) => c.name === f.host.name), JSON.stringify(containers.map((c) => c.name)));
  // cgroups read (ProtectControlGroups: read-only): the host container's memory in /metrics
  await waitFor('container metrics of the host container', async () => {
    const text = await (await get(f.port, '/metrics')).text();
    const line = text.split('\n').find((l) => l.startsWith('container_memory_usage_bytes{') && l.includes(`"${f.host.name}"`));
    return line !== undefined && Number(line.split(' ').at(-1)) > 0;
  }, 30_000, 500);
  // a log line written on the host reaches Logstash
  const log = new GrowingLog(f.logs, 'firstrun');
  await waitFor('a line of the log directory at the receiver', () => receivedLines(f.a.events, log).length > 0, 30_000);
  log.stop();

  // systemd's own rating of the unit's sandboxing, on this host
  const security = (await f.host.sh('systemd-analyze security --no-pager dockhand.service')).stdout;
  const exposure = /Overall exposure level for dockhand\.service: ([\d.]+) (\w+)/.exec(security);
  assert.ok(exposure, security);
  t.diagnostic(`systemd-analyze security dockhand.service: ${exposure[1]} ${exposure[2]}`);
  assert.ok(Number(exposure[1]) <= 2.5, security);
});

void test('second run: nothing changes', async (t) => {
  const f = ready(t);
  if (!f) return;
  const pid = await mainPid(f);
  const run = await timedPlay(t, f, vars(f, config(f)));
  assert.equal(run.code, 0, run.output);
  assert.equal(run.recap.changed, 0, run.output);
  assert.equal(run.recap.failed, 0, run.output);
  assert.equal(await mainPid(f), pid);
});

void test('a change of live keys (output host and TLS files, metrics.interval) is reloaded: same process, next lines to the new receiver, none lost or doubled', async (t) => {
  const f = ready(t);
  if (!f) return;
  const pid = await mainPid(f);
  const log = new GrowingLog(f.logs, 'reload');
  t.after(() => log.stop());
  await waitFor('lines at receiver a', () => receivedLines(f.a.events, log).length >= 100, 30_000);
  const run = await timedPlay(t, f, vars(f, config(f, { receiver: f.b, interval: '3s' })));
  assert.equal(run.code, 0, run.output);
  assert.equal(taskOutcome(run.output, 'Reload dockhand'), 'changed', run.output);
  // the agent's own report decided: everything applied, nothing waits for a restart
  assert.match(run.output, /"msg": "applied: [^;"]*outputs[^;"]*; waiting for a restart: nothing"/, run.output);
  assert.equal(taskOutcome(run.output, 'Restart dockhand when a changed key needs it'), 'skipping', run.output);
  assert.equal(taskOutcome(run.output, "Write the outputs' TLS files (a reload re-reads them)"), 'changed', run.output);
  for (const { path: file } of f.tlsFiles) assert.equal((await f.host.sh(`stat -c '%a %U %G' ${file}`)).stdout.trim(), '640 root dockhand', file);
  assert.equal(await mainPid(f), pid);
  const host = await getJson<HostAnswer>(f.port, '/v1/host');
  assert.deepEqual(host.agent.lastReload && { applied: [...host.agent.lastReload.applied].sort(), pendingRestart: host.agent.lastReload.pendingRestart }, { applied: ['metrics.interval', 'outputs'], pendingRestart: [] });

  const atB = (): number => receivedLines(f.b.events, log).length;
  await waitFor('lines at receiver b', () => atB() >= 100, 30_000);
  const written = log.stop();
  await waitFor('everything acknowledged', () => caughtUp(f.port, log), 30_000, 200);
  assertExactlyOnce([...receivedLines(f.a.events, log), ...receivedLines(f.b.events, log)], written);
});

void test('a change that needs a restart (api.listen) restarts the agent: a new process, on the new port, no line lost or doubled', async (t) => {
  const f = ready(t);
  if (!f) return;
  const pid = await mainPid(f);
  const log = new GrowingLog(f.logs, 'restart');
  t.after(() => log.stop());
  await waitFor('lines at receiver b', () => receivedLines(f.b.events, log).length >= 100, 30_000);
  const run = await timedPlay(t, f, vars(f, config(f, { port: f.movedPort, receiver: f.b, interval: '3s' })));
  assert.equal(run.code, 0, run.output);
  assert.equal(taskOutcome(run.output, 'Reload dockhand'), 'changed', run.output);
  // the restart follows the agent's report (not a missing answer): it names the key
  assert.match(run.output, /"msg": "applied: nothing; waiting for a restart: api\.listen\.port"/, run.output);
  assert.equal(taskOutcome(run.output, 'Restart dockhand when a changed key needs it'), 'changed', run.output);
  assert.notEqual(await mainPid(f), pid);
  await waitFor('/readyz on the new port', async () => (await get(f.movedPort, '/readyz').catch(() => undefined))?.status === 200, 60_000, 250);
  await assert.rejects(get(f.port, '/healthz', null));
  assert.equal((await getJson<HostAnswer>(f.movedPort, '/v1/host')).agent.lastReload, null);

  const atRestart = receivedLines(f.b.events, log).length;
  await waitFor('more lines after the restart', () => receivedLines(f.b.events, log).length >= atRestart + 100, 30_000);
  const written = log.stop();
  await waitFor('everything acknowledged', () => caughtUp(f.movedPort, log), 30_000, 200);
  assertExactlyOnce(receivedLines(f.b.events, log), written);
});

void test('an invalid configuration is refused by the validate step; the agent and its config stay as they were', async (t) => {
  const f = ready(t);
  if (!f) return;
  const pid = await mainPid(f);
  const before = (await f.host.sh('sha256sum /etc/dockhand/dockhand.yaml')).stdout;
  // listening off loopback without a token (token_file: null wins over the role's token)
  const bad = config(f, { port: f.movedPort, receiver: f.b, interval: '3s' });
  bad.api = { listen: `0.0.0.0:${f.movedPort}`, token_file: null };
  const run = await timedPlay(t, f, vars(f, bad));
  assert.notEqual(run.code, 0, run.output);
  assert.equal(run.recap.failed, 1, run.output);
  assert.equal(taskOutcome(run.output, 'Write the configuration (refused, with every problem listed, when check-config fails)'), 'fatal', run.output);
  assert.match(run.output, /failed to validate/);
  assert.match(run.output, /api\.listen.*requires api\.token_file or api\.tls\.client_ca/);
  assert.equal((await f.host.sh('sha256sum /etc/dockhand/dockhand.yaml')).stdout, before);
  assert.equal(await mainPid(f), pid);
  assert.equal(await isActive(f), 'active');
  assert.equal((await get(f.movedPort, '/readyz')).status, 200);
});

void test('a killed agent is restarted by systemd (Restart=always) and resumes', async (t) => {
  const f = ready(t);
  if (!f) return;
  const pid = await mainPid(f);
  const restarts = async (): Promise<number> => Number((await f.host.sh('systemctl show dockhand -p NRestarts --value')).stdout.trim());
  const restartsBefore = await restarts();
  const log = new GrowingLog(f.logs, 'kill9');
  t.after(() => log.stop());
  await waitFor('lines at receiver b', () => receivedLines(f.b.events, log).length >= 100, 30_000);
  await f.host.sh('systemctl kill --kill-who=main --signal=SIGKILL dockhand');
  await waitFor('systemd to start the agent again', async () => (await isActive(f)) === 'active' && (await mainPid(f)) !== pid, 30_000, 250);
  assert.equal(await restarts(), restartsBefore + 1);
  await waitFor('/readyz after the crash', async () => (await get(f.movedPort, '/readyz').catch(() => undefined))?.status === 200, 60_000, 250);
  const atCrash = receivedLines(f.b.events, log).length;
  await waitFor('more lines after the crash', () => receivedLines(f.b.events, log).length >= atCrash + 100, 30_000);
  const written = log.stop();
  await waitFor('everything acknowledged', () => caughtUp(f.movedPort, log), 30_000, 200);
  // after a crash, at least once: lines sent but not yet acknowledged may come again
  const lines = new Set(receivedLines(f.b.events, log));
  const lost = Array.from({ length: written }, (_, i) => i).filter((i) => !lines.has(i));
  assert.deepEqual(lost, []);
});

void test('systemctl stop: a graceful stop within the bounds of the unit, the offset saved is what Logstash acknowledged', async (t) => {
  const f = ready(t);
  if (!f) return;
  const log = new GrowingLog(f.logs, 'stop');
  t.after(() => log.stop());
  await waitFor('lines at receiver b', () => receivedLines(f.b.events, log).length >= 100, 30_000);
  // still writing while the agent stops
  await f.host.sh('systemctl stop dockhand', { timeoutMs: 60_000 });
  log.stop();
  assert.equal(await isActive(f), 'inactive');
  // not killed at TimeoutStopSec (Result=timeout) nor failed: the agent exited 0 by itself
  assert.equal((await f.host.sh('systemctl show dockhand -p Result -p ExecMainStatus')).stdout, 'Result=success\nExecMainStatus=0\n');
  const registry = JSON.parse((await f.host.sh('cat /var/lib/dockhand/log-offsets.json')).stdout) as { files: { path: string; offset: number }[] };
  const saved = registry.files.find((x) => x.path.endsWith(path.basename(log.path)));
  assert.ok(saved && saved.offset > 0, JSON.stringify(registry.files));
  // whole lines of 121 bytes: the receiver has every line before the saved offset
  assert.equal(saved.offset % 121, 0);
  const got = new Set(receivedLines(f.b.events, log));
  const missingBefore = Array.from({ length: saved.offset / 121 }, (_, i) => i).filter((i) => !got.has(i));
  assert.deepEqual(missingBefore, []);
});

void test('dockhand_read_docker_log_files: the drop-in gives the agent CAP_DAC_READ_SEARCH and containers\' output is read from their json-file logs; false takes it away', async (t) => {
  const f = ready(t);
  if (!f) return;
  const dropIns = '/etc/systemd/system/dockhand.service.d';
  // The suite's private dockerd keeps its data under /tmp, which the unit's PrivateTmp= hides from
  // the agent (a host's /var/lib/docker is not under /tmp): for this test only, a drop-in lifts it.
  const testDropIn = `${dropIns}/zz-test-docker-under-tmp.conf`;
  if (f.dockerRoot.startsWith('/tmp/')) await f.host.sh(`mkdir -p ${dropIns} && printf '[Service]\\nPrivateTmp=no\\n' > ${testDropIn}`);
  t.after(() => f.host.sh(`rm -f ${testDropIn} && systemctl daemon-reload`).then(() => undefined));
  const settings = config(f, { port: f.movedPort, receiver: f.b, interval: '3s' });
  const run = await timedPlay(t, f, { ...vars(f, settings), dockhand_read_docker_log_files: true });
  assert.equal(run.code, 0, run.output);
  assert.equal(run.recap.failed, 0, run.output);
  assert.equal(taskOutcome(run.output, 'Let dockhand read Docker\'s log files (drop-in)'), 'changed', run.output);
  assert.equal(await isActive(f), 'active');
  assert.match((await f.host.sh('systemctl show dockhand -p DropInPaths')).stdout, /docker-log-files\.conf/);
  // the capability in force, nothing more: CAP_DAC_READ_SEARCH is bit 2
  const status = (await f.host.sh(`cat /proc/${await mainPid(f)}/status`)).stdout;
  assert.match(status, /^CapEff:\s+0000000000000004$/m);
  assert.match(status, /^CapBnd:\s+0000000000000004$/m);
  assert.match((await f.host.sh('cat /etc/dockhand/dockhand.yaml')).stdout, /read_from: files/);
  // a container printing numbered lines: read from its json-file log, every line at the receiver
  const name = `dockhand-role-files-${randomBytes(3).toString('hex')}`;
  const id = (await docker(f.engine, ['run', '-d', '--name', name, '--label', TEST_LABEL, '--network', 'none', TEST_IMAGE, 'sh', '-c', "seq 1 500 | sed 's/^/rf-/'; exec sleep 3600"])).stdout.trim();
  t.after(() => docker(f.engine, ['rm', '-f', id], { allowFail: true }).then(() => undefined));
  interface View { id: string; state: string; source: string; path: string | null; reason: string | null }
  const view = await waitFor('the container followed, in /v1/logs', async () => (await getJson<{ containers: View[] }>(f.movedPort, '/v1/logs')).containers.find((c) => c.id === id && c.state === 'streaming'), 60_000, 250);
  assert.deepEqual([view.source, view.reason], ['file', null], JSON.stringify(view));
  assert.match(view.path ?? '', new RegExp(`/${id}-json\\.log$`));
  // the container's output (not its lifecycle events, which name it too)
  const lines = (): Set<string> => new Set(f.b.events.filter((e) => (e.json.event as { dataset?: string } | undefined)?.dataset === 'docker.container_logs' && (e.json.container as { name?: string } | undefined)?.name === name).map((e) => String(e.json.message)));
  await waitFor('500 lines of the container at the receiver', () => lines().size === 500, 60_000, 250).catch(async (err: unknown) => {
    const now = (await getJson<{ containers: View[] }>(f.movedPort, '/v1/logs')).containers.find((c) => c.id === id);
    const journal = (await f.host.sh('journalctl -u dockhand -n 40 --no-pager', { allowFail: true })).stdout;
    throw new Error(`${(err as Error).message}: ${lines().size} lines; receiver errors ${JSON.stringify(f.b.errors)}; /v1/logs ${JSON.stringify(now)}\n${journal}`);
  });
  assert.ok([...lines()].every((l) => /^rf-\d+$/.test(l)));

  // false: the drop-in goes, and the agent runs without any capability again
  const back = await timedPlay(t, f, vars(f, settings));
  assert.equal(back.code, 0, back.output);
  assert.equal(taskOutcome(back.output, 'Withdraw the drop-in that lets dockhand read Docker\'s log files'), 'changed', back.output);
  assert.equal(await isActive(f), 'active');
  assert.match((await f.host.sh(`cat /proc/${await mainPid(f)}/status`)).stdout, /^CapEff:\s+0000000000000000$/m);
});

void test('dockhand_package_source: url installs release N+1 from an HTTP URL (an upgrade), and the service runs it', async (t) => {
  const f = ready(t);
  if (!f) return;
  // a package server on loopback: the host shares the test's network
  const requests: string[] = [];
  const server = createServer((req, res) => {
    requests.push(req.url ?? '');
    res.writeHead(200, { 'content-type': 'application/vnd.debian.binary-package' });
    createReadStream(f.releases.next.deb).pipe(res);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  t.after(() => server.close());
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/${path.basename(f.releases.next.deb)}`;
  const { dockhand_package_file: _file, ...rest } = vars(f, config(f, { port: f.movedPort, receiver: f.b, interval: '3s' }));
  const run = await timedPlay(t, f, { ...rest, dockhand_package_source: 'url', dockhand_package_url: url });
  assert.equal(run.code, 0, run.output);
  assert.equal(run.recap.failed, 0, run.output);
  assert.deepEqual(requests, [`/${path.basename(f.releases.next.deb)}`], 'the package came from the URL');
  const installed = (await f.host.sh("dpkg-query -W -f='${Version}' dockhand")).stdout.trim();
  assert.equal(installed, f.releases.next.version, `installed ${installed}, release ${f.releases.next.version}`);
  assert.equal(await isActive(f), 'active');
  await waitFor('/readyz of the upgraded agent', async () => (await get(f.movedPort, '/readyz').catch(() => undefined))?.status === 200, 60_000, 250);
  await waitFor('N+1 to answer', async () => (await getJson<{ agent: { version: string } }>(f.movedPort, '/v1/host').catch(() => undefined))?.agent.version === f.releases.next.version, 60_000, 250);
});

void test('neither the token nor the private key appears in ansible-playbook output (-v --diff)', (t) => {
  const f = ready(t);
  if (!f) return;
  assert.ok(outputs.length >= 5, `${outputs.length} runs`);
  const key = f.tlsFiles.find((x) => x.path.endsWith('.key'))?.content.split('\n')[1];
  assert.ok(key && key.length > 20);
  for (const output of outputs) {
    assert.ok(!output.includes(TOKEN), output);
    assert.ok(!output.includes(key), output);
  }
});

void test('ansible-lint passes on the role and the example play', async (t) => {
  if (!requireCommands(t, [['ansible-lint', 'ansible-lint']])) return;
  const { code, output } = await new Promise<{ code: number; output: string }>((resolve, reject) => {
    const child = spawn('ansible-lint', ['--offline', '--nocolor', 'roles/dockhand', 'site.yml'], { cwd: ANSIBLE, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => (out += d.toString()));
    child.on('error', reject);
    child.on('close', (c) => resolve({ code: c ?? -1, output: out }));
  });
  assert.equal(code, 0, output);
  assert.match(output, /Passed with production profile/);
});
