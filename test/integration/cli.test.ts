// The CLI as operators and Ansible use it: `version`, `check-config` (exit 78 naming every bad
// key), and `run` end to end against a real dockerd with a token-protected API, then SIGTERM.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import type { TestContext } from 'node:test';
import { TEST_LABEL, docker, ensureTestImage, removeAllContainers, requireDocker } from '../helpers/docker-engine.ts';
import { AgentProcess, cleanEnv, runCli } from '../helpers/agent-process.ts';
import { BeatsReceiver } from '../helpers/beats-receiver.ts';
import { waitFor } from '../helpers/wait.ts';
import { freePort } from '../helpers/ports.ts';
import { missing } from '../helpers/requirements.ts';

const dir = mkdtempSync(join(tmpdir(), 'dockhand-cli-'));
after(() => rmSync(dir, { recursive: true, force: true }));
const TOKEN = 's3cret-token-for-tests';
const tokenFile = join(dir, 'token');
writeFileSync(tokenFile, `${TOKEN}\n`, { mode: 0o600 });

let n = 0;
/** "Billion laughs": nine levels of ten aliases each, 10^9 strings if expanded. */
function aliasBomb(): string {
  const lines = ['l0: &l0 [lol, lol, lol, lol, lol, lol, lol, lol, lol, lol]'];
  for (let i = 1; i < 9; i++) lines.push(`l${i}: &l${i} [${Array.from({ length: 10 }, () => `*l${i - 1}`).join(', ')}]`);
  return `${lines.join('\n')}\n`;
}

function file(yaml: string): string {
  const f = join(dir, `config-${n++}.yaml`);
  writeFileSync(f, yaml);
  return f;
}

void describe('dockhand version / usage', () => {
  void it('prints the package version', async () => {
    const r = await runCli(['version']);
    assert.equal(r.code, 0);
    assert.match(r.stdout, /^dockhand \d+\.\d+\.\d+\n$/);
  });

  void it('unknown commands and arguments exit 1 with usage', async () => {
    const r = await runCli(['frobnicate']);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /unknown command "frobnicate"/);
    assert.match(r.stderr, /usage:/);
    const r2 = await runCli(['run', '--bogus']);
    assert.equal(r2.code, 1);
    assert.match(r2.stderr, /unexpected argument "--bogus"/);
  });
});

void describe('dockhand check-config', () => {
  void it('accepts a valid file (exit 0)', async () => {
    const r = await runCli(['check-config', file(`log_level: debug\napi:\n  listen: 0.0.0.0:9731\n  token_file: ${tokenFile}\n  metrics_auth: false\n`)]);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /configuration OK/);
  });

  const bad: [string, string, RegExp][] = [
    ['wrong type', 'log_level: 5\n', /^log_level: must be one of/m],
    ['unknown top-level key', 'loglevel: info\n', /^loglevel: unknown key \(did you mean "log_level"\?\)/m],
    ['unknown nested key', 'api:\n  port: 9731\n', /^api\.port: unknown key/m],
    ['relative path', 'state_dir: var/lib/dockhand\n', /^state_dir: "var\/lib\/dockhand" is not an absolute path/m],
    ['bad duration', 'logs:\n  close_inactive: 5 mins\n', /^logs\.close_inactive: "5 mins" is not a duration/m],
    ['bare number as duration', 'metrics:\n  interval: 10\n', /^metrics\.interval: expected a duration/m],
    ['bad size', 'logs:\n  max_line_bytes: lots\n', /^logs\.max_line_bytes: "lots" is not a size/m],
    ['bad listen address', 'api:\n  listen: localhost\n', /^api\.listen: "localhost" is not host:port/m],
    ['missing token file', `api:\n  token_file: ${dir}/no-such-token\n`, /^api\.token_file: cannot read .*no-such-token: ENOENT/m],
    ['open API off loopback', 'api:\n  listen: 0.0.0.0:9731\n', /^api\.listen: listening on 0\.0\.0\.0 \(not loopback\) requires/m],
    ['plain TCP docker', 'docker:\n  host: tcp://127.0.0.1:2375\n', /^docker\.host: plain TCP to the Docker API is refused/m],
    ['YAML syntax error', 'api: [\n', /YAML line \d+/m],
    ['bad regex', 'logs:\n  multiline:\n    pattern: "(unclosed"\n', /^logs\.multiline\.pattern: not a valid regular expression/m],
    ['out of range', 'outputs:\n  - type: beats\n    compression_level: 10\n', /^outputs\[0\]\.compression_level: must be between 0 and 9/m],
    ['incomplete TLS block', `api:\n  tls: { cert: ${tokenFile} }\n`, /^api\.tls\.key: is required here/m],
    // Durations past Node's 2^31-1 ms timer limit used to pass and then fire every millisecond.
    ['a month-long resync interval', 'docker:\n  resync_interval: 720h\n', /^docker\.resync_interval: must be at most 1d, got 720h/m],
    ['a 1000-hour Docker timeout', 'docker:\n  timeout: 1000h\n', /^docker\.timeout: must be at most 10m, got 1000h/m],
    ['a month-long rescan interval', 'logs:\n  rescan_interval: 720h\n', /^logs\.rescan_interval: must be at most 1h, got 720h/m],
    // What `run` refuses, check-config (Ansible's validate:) must refuse too.
    ['no outputs', 'outputs: []\n', /^outputs: needs at least 1 item/m],
    ['a state_dir that is a file', `state_dir: ${tokenFile}\n`, /^state_dir: .*token exists and is not a directory/m],
    ['a state_dir under a file', `state_dir: ${tokenFile}/state\n`, /^state_dir: cannot use .*token\/state: ENOTDIR/m],
    ['port 0 for the API', 'api:\n  listen: 127.0.0.1:0\n', /^api\.listen: port 0 is out of range/m],
    ['a catastrophic-backtracking multiline pattern', 'logs:\n  multiline:\n    pattern: "^(\\\\s+)+x"\n', /^logs\.multiline\.pattern: nested repetition "\(\\s\+\)\+"/m],
    ['a YAML alias bomb', aliasBomb(), /^YAML: .*alias/im],
  ];
  for (const [what, yaml, expected] of bad) {
    void it(`rejects ${what} with exit 78 naming the key`, async () => {
      const r = await runCli(['check-config', file(yaml)]);
      assert.equal(r.code, 78, `stdout: ${r.stdout}\nstderr: ${r.stderr}`);
      assert.match(r.stderr, expected);
    });
  }

  void it('a file far larger than any configuration is refused before it is parsed', async () => {
    const big = file(`logs:\n  exclude:\n${'    - "*.never-matches-anything-at-all"\n'.repeat(40_000)}`);
    const r = await runCli(['check-config', big]);
    assert.equal(r.code, 78, r.stderr);
    assert.match(r.stderr, /is \d+ bytes; a configuration file may be at most 1048576 bytes/);
  });

  void it('run refuses with 78 what check-config refuses, naming the file (no outputs, state_dir a file, an alias bomb)', async () => {
    for (const yaml of ['outputs: []\n', `state_dir: ${tokenFile}\n`, aliasBomb()]) {
      const config = file(yaml);
      const checked = await runCli(['check-config', config]);
      const ran = await runCli(['run', '--config', config], cleanEnv());
      assert.equal(checked.code, 78, checked.stderr);
      assert.equal(ran.code, 78, `${yaml.slice(0, 40)}: ${ran.stderr}${ran.stdout}`);
      assert.ok(ran.stderr.startsWith(`${config}: 1 problem(s)`), ran.stderr);
    }
  });

  void it('lists every problem of a file at once', async () => {
    const r = await runCli(['check-config', file('log_level: loud\nstate_dir: rel\napi:\n  listen: nope\n')]);
    assert.equal(r.code, 78);
    assert.match(r.stderr, /3 problem\(s\)/);
  });

  void it('a missing file is a configuration error', async () => {
    const r = await runCli(['check-config', join(dir, 'absent.yaml')]);
    assert.equal(r.code, 78);
    assert.match(r.stderr, /cannot read .*absent\.yaml: ENOENT/);
  });

  void it('checks DOCKHAND_* overrides too', async () => {
    const r = await runCli(['check-config', file('')], cleanEnv({ DOCKHAND_API__LISTEN: 'bogus' }));
    assert.equal(r.code, 78);
    assert.match(r.stderr, /^api\.listen: .*\(from DOCKHAND_API__LISTEN\)/m);
  });
});

/** `promtool check metrics` (Debian's prometheus package, installed by .ci/run) must find nothing to complain about. */
function checkWithPromtool(t: TestContext, exposition: string): void {
  const result = spawnSync('promtool', ['check', 'metrics'], { input: exposition, encoding: 'utf8' });
  if (result.error) {
    missing(t, `promtool is not installed: ${result.error.message}`);
    return;
  }
  assert.equal(result.status, 0, `promtool check metrics:\n${result.stdout}${result.stderr}`);
}

void describe('dockhand run', () => {
  void it('serves the inventory over an authenticated API and stops cleanly on SIGTERM', { timeout: 120_000 }, async (t) => {
    const host = await requireDocker(t);
    if (!host) return;
    const image = await ensureTestImage(host);
    t.after(() => removeAllContainers(host));
    const id = (await docker(host, ['run', '-d', '--name', `dh-cli-${process.pid}`, '--label', TEST_LABEL, '--network', 'none', image, 'sleep', '300'])).stdout.trim();

    const port = await freePort();
    // Ready means Docker connected and the outputs connected: give it a Logstash to talk to.
    const receiver = await BeatsReceiver.start();
    t.after(() => receiver.close());
    const config = file(`
state_dir: ${dir}/state
docker:
  host: ${host}
api:
  listen: 127.0.0.1:${port}
  token_file: ${tokenFile}
logs:
  roots: [${dir}/logs]
outputs:
  - type: beats
    hosts: [${receiver.address}]
`);
    const agent = new AgentProcess(['run', '--config', config], cleanEnv());
    t.after(() => agent.dispose());
    const base = `http://127.0.0.1:${port}`;
    const auth = { authorization: `Bearer ${TOKEN}` };
    await waitFor('agent started', () => agent.find('dockhand started'), 30_000);
    await waitFor('ready', async () => (await fetch(`${base}/readyz`, { headers: auth })).status === 200, 30_000);

    assert.equal((await fetch(`${base}/healthz`)).status, 200, '/healthz needs no token');
    const denied = await fetch(`${base}/v1/containers`);
    assert.equal(denied.status, 401);
    assert.equal(((await denied.json()) as { error: { code: string } }).error.code, 'UNAUTHORIZED');
    assert.equal((await fetch(`${base}/v1/containers`, { headers: { authorization: 'Bearer wrong' } })).status, 401);

    const list = (await (await fetch(`${base}/v1/containers`, { headers: auth })).json()) as { containers: { id: string; state: string }[] };
    assert.equal(list.containers.find((c) => c.id === id)?.state, 'running');
    const one = (await (await fetch(`${base}/v1/containers/${id.slice(0, 12)}`, { headers: auth })).json()) as { id: string; pid: number };
    assert.equal(one.id, id);
    assert.ok(one.pid > 0);
    assert.equal((await fetch(`${base}/v1/containers/no-such-container`, { headers: auth })).status, 404);

    await docker(host, ['rm', '-f', id]);
    const events = await waitFor('destroy event served', async () => {
      const body = (await (await fetch(`${base}/v1/events?since=0`, { headers: auth })).json()) as { events: { action: string; containerId?: string }[] };
      return body.events.some((e) => e.action === 'destroy' && e.containerId === id) ? body.events : undefined;
    });
    assert.ok(events.some((e) => e.action === 'die' && e.containerId === id));

    const hostDoc = (await (await fetch(`${base}/v1/host`, { headers: auth })).json()) as {
      hostname: string;
      docker: { state: string; version: string; reachable: boolean };
      agent: { version: string };
      memory: { totalBytes: number };
      cpu: { cores: number };
    };
    assert.ok(hostDoc.hostname);
    assert.equal(hostDoc.docker.state, 'connected');
    assert.equal(hostDoc.docker.reachable, true);
    assert.match(hostDoc.docker.version, /^\d+\./);
    assert.match(hostDoc.agent.version, /^\d+\.\d+\.\d+/);
    assert.ok(hostDoc.memory.totalBytes > 0);
    assert.ok(hostDoc.cpu.cores > 0);

    assert.equal((await fetch(`${base}/metrics`)).status, 401, 'metrics_auth defaults to true');
    const metrics = await (await fetch(`${base}/metrics`, { headers: auth })).text();
    assert.match(metrics, /^dockhand_docker_up 1$/m);
    assert.match(metrics, /^dockhand_docker_events_total\{action="destroy"\} [1-9]/m);
    assert.match(metrics, /^dockhand_build_info\{version="[^"]+",node="v\d+/m);
    assert.match(metrics, /^dockhand_process_resident_memory_bytes \d+/m);
    checkWithPromtool(t, metrics);

    // SIGHUP: a rotated token is picked up without a restart; the old one stops working.
    writeFileSync(tokenFile, 'rotated-token\n', { mode: 0o600 });
    t.after(() => writeFileSync(tokenFile, `${TOKEN}\n`, { mode: 0o600 }));
    agent.child.kill('SIGHUP');
    await waitFor('token reloaded', () => agent.find('api token reloaded'));
    assert.equal((await fetch(`${base}/v1/containers`, { headers: auth })).status, 401);
    assert.equal((await fetch(`${base}/v1/containers`, { headers: { authorization: 'Bearer rotated-token' } })).status, 200);

    const stopAt = Date.now();
    agent.child.kill('SIGTERM');
    const exit = await agent.exited;
    assert.equal(exit.code, 0, agent.stderr);
    assert.ok(Date.now() - stopAt < 10_000, 'stopped within 10 s');
    assert.ok(agent.find('stopped'), 'logged its stop');
  });

  void it('keeps running and reports not-ready when Docker is unreachable', { timeout: 60_000 }, async (t) => {
    const port = await freePort();
    const agent = new AgentProcess(['run'], cleanEnv({
      DOCKHAND_DOCKER__HOST: `unix://${dir}/no-docker.sock`,
      DOCKHAND_API__LISTEN: `127.0.0.1:${port}`,
      DOCKHAND_STATE_DIR: `${dir}/state2`,
      DOCKHAND_API__METRICS_AUTH: 'false',
    }));
    t.after(() => agent.dispose());
    await waitFor('agent started', () => agent.find('dockhand started'), 30_000);
    const ready = await waitFor('readyz answers', async () => fetch(`http://127.0.0.1:${port}/readyz`));
    assert.equal(ready.status, 503);
    const body = (await ready.json()) as { ready: boolean; checks: { name: string; ok: boolean; detail: string }[] };
    assert.equal(body.ready, false);
    assert.match(body.checks.find((c) => c.name === 'docker')?.detail ?? '', /ENOENT|connect/);
    assert.match(await (await fetch(`http://127.0.0.1:${port}/metrics`)).text(), /^dockhand_docker_up 0$/m);
    assert.ok(agent.lines.some((l) => l.event === 'docker.unreachable' && l.level === 'error'));

    agent.child.kill('SIGINT');
    assert.equal((await agent.exited).code, 0);
  });

  void it('exits 78 on a bad config and 1 when the API port is taken', { timeout: 60_000 }, async () => {
    const bad = await runCli(['run', '--config', file('api:\n  listen: 0.0.0.0:1\n')], cleanEnv());
    assert.equal(bad.code, 78);
    assert.match(bad.stderr, /api\.listen/);

    const blocker = createServer();
    await new Promise<void>((r) => blocker.listen(0, '127.0.0.1', r));
    const port = (blocker.address() as { port: number }).port;
    try {
      const r = await runCli(['run'], cleanEnv({ DOCKHAND_API__LISTEN: `127.0.0.1:${port}`, DOCKHAND_DOCKER__HOST: `unix://${dir}/none.sock`, DOCKHAND_STATE_DIR: `${dir}/state3` }));
      assert.equal(r.code, 1, r.stdout + r.stderr);
      assert.match(r.stdout, /start failed/);
      assert.match(r.stdout, new RegExp(`127\\.0\\.0\\.1:${port}`));
    } finally {
      blocker.close();
    }
  });
});
