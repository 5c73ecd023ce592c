// Health probes and restart policies on a real dockerd, through the whole agent (in process,
// API on a real socket): busybox httpd and nc as services under host networking, probes only
// ever to 127.0.0.1. Timings are kept short with small intervals and backoffs in the config;
// assertions are on counts, order and state, never on durations.
import assert from 'node:assert/strict';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { pino } from 'pino';
import { Agent } from '../../src/agent.ts';
import { loadConfig } from '../../src/configuration.ts';
import type { AgentEvent, RecordedEvent } from '../../src/docker/types.ts';
import type { ReloadReport } from '../../src/reload.ts';
import { TEST_LABEL, docker, ensureTestImage, removeAllContainers, requireDocker, startPrivateDockerd } from '../helpers/docker-engine.ts';
import type { PrivateDockerd } from '../helpers/docker-engine.ts';
import { freePort } from '../helpers/ports.ts';
import { waitFor } from '../helpers/wait.ts';

interface LogLine { level: number; msg: string; [k: string]: unknown }

const HEALTH_CONFIG = `
health:
  defaults: { interval: 300ms, timeout: 250ms, grace: 0s, unhealthy_threshold: 3 }
  restart: { backoff_base: 200ms, backoff_max: 2s, stagger: 300ms }
`;

class TestAgent {
  agent!: Agent;
  url = '';
  dir = '';
  #file = '';
  #base: string[] = [];
  readonly logs: LogLine[] = [];

  async start(host: string, extra = HEALTH_CONFIG): Promise<void> {
    this.dir = await mkdtemp(join(tmpdir(), 'dockhand-health-'));
    const file = join(this.dir, 'dockhand.yaml');
    await mkdir(join(this.dir, 'logs'));
    // No log files, and the output on a port nothing listens on: this agent ships nothing.
    this.#file = file;
    this.#base = [
      'log_level: debug',
      `state_dir: ${this.dir}/state`,
      `docker: { host: "${host}", events_buffer: 20000, reconnect_base: 200ms, reconnect_max: 1s }`,
      `api: { listen: "127.0.0.1:${await freePort()}" }`,
      `logs: { roots: ["${this.dir}/logs"] }`,
      `outputs: [{ type: tcp, hosts: ["127.0.0.1:${await freePort()}"] }]`,
    ];
    await writeFile(file, [...this.#base, extra].join('\n'));
    const logger = pino({ level: 'debug' }, { write: (line: string) => void this.logs.push(JSON.parse(line) as LogLine) });
    this.agent = new Agent({ loaded: loadConfig({ file, env: {} }), logger, version: 'test' });
    this.url = (await this.agent.start()).apiUrl;
    // Docker connected is what matters here (the output is down on purpose).
    await waitFor('Docker connected', async () => {
      const r = (await (await fetch(`${this.url}/readyz`)).json()) as { checks: { name: string; ok: boolean }[] };
      return r.checks.find((c) => c.name === 'docker')?.ok;
    }, 30_000, 100);
  }

  /** Rewrites the configuration with `extra` in place of the health settings and reloads it, as SIGHUP does. */
  async reload(extra: string): Promise<ReloadReport> {
    await writeFile(this.#file, [...this.#base, extra].join('\n'));
    return this.agent.reload(loadConfig({ file: this.#file, env: {} }));
  }

  async stop(): Promise<void> {
    await this.agent?.stop();
    if (this.dir) await rm(this.dir, { recursive: true, force: true });
  }

  async get<T>(path: string): Promise<T> {
    const res = await fetch(`${this.url}${path}`);
    return (path === '/metrics' ? await res.text() : await res.json()) as T;
  }

  /** Agent events about one container, oldest first. */
  async events(id: string): Promise<AgentEvent[]> {
    const { events } = await this.get<{ events: RecordedEvent[] }>('/v1/events?limit=5000');
    return events.filter((e): e is AgentEvent => e.kind === 'agent' && e.details?.containerId === id);
  }

  /** The health events of container `id` (probe.*, restart.*), in order; other capabilities' (audit.*) left out. */
  async actions(id: string): Promise<string[]> {
    return (await this.events(id)).filter((e) => e.action.startsWith('probe.') || e.action.startsWith('restart.')).map((e) => (typeof e.details?.reason === 'string' ? `${e.action}:${e.details.reason}` : e.action));
  }

  async waitEvent(id: string, action: string, count = 1, timeoutMs = 30_000): Promise<AgentEvent[]> {
    try {
      return await waitFor(`${count} × ${action} for ${id.slice(0, 12)}`, async () => {
        const found = (await this.events(id)).filter((e) => e.action === action);
        return found.length >= count ? found : undefined;
      }, timeoutMs, 100);
    } catch (err) {
      // What the agent did and logged about the container, to tell a lost Docker event from a wrong decision.
      const said = this.logs.filter((l) => JSON.stringify(l).includes(id.slice(0, 12))).slice(-40).map((l) => `${l.level} ${l.msg} ${JSON.stringify({ ...l, level: undefined, msg: undefined, time: undefined, pid: undefined, hostname: undefined })}`);
      const { events } = await this.get<{ events: RecordedEvent[] }>('/v1/events?limit=5000');
      const seen = events.filter((e) => e.kind === 'container' && e.containerId === id).map((e) => `${e.action}@${e.time}`);
      throw new Error(`${err instanceof Error ? err.message : String(err)}\nits actions: ${(await this.actions(id)).join(', ')}\nDocker's events as the agent got them: ${seen.join(', ')}\nthe agent's log about it:\n${said.join('\n')}`, { cause: err });
    }
  }

  /**
   * Returns once the agent has handled every Docker event sent before the call, and run a health
   * sync after them: a throwaway container with a bad probe label is run and the agent's report
   * of it awaited. Restart decisions are made as events arrive, config problems in syncs, so what
   * has not happened by then is not about to — the observation window is bounded by what the
   * agent reports it has done, not by a fixed wait.
   */
  async barrier(host: string, image: string): Promise<void> {
    const id = (await docker(host, ['run', '-d', '--label', TEST_LABEL, '--network', 'none', '--label', 'dockhand.probe.type=bogus', image, 'true'])).stdout.trim();
    await this.waitEvent(id, 'probe.config_error');
    await docker(host, ['rm', '-f', id]);
  }

  async probe(id: string): Promise<Record<string, unknown> | undefined> {
    const doc = await this.get<{ probes: Record<string, unknown>[] }>('/v1/probes');
    return doc.probes.find((p) => p.containerId === id);
  }

  async container(id: string): Promise<{ state: string; probe: Record<string, unknown> | null; restart: Record<string, unknown> | null }> {
    return this.get(`/v1/containers/${id}`);
  }
}

function labels(map: Record<string, string | number>): string[] {
  return Object.entries(map).flatMap(([k, v]) => ['--label', `${k}=${v}`]);
}

let n = 0;
const name = (what: string): string => `dh-health-${process.pid}-${what}-${++n}`;

async function dockerState(host: string, id: string): Promise<string> {
  return (await docker(host, ['inspect', '-f', '{{.State.Status}}', id])).stdout.trim();
}

void describe('health probes and restarts on a real engine', () => {
  let host = '';
  let image = '';
  const t = new TestAgent();

  before(async () => {
    host = await requireDocker(undefined);
    if (!host) return;
    image = await ensureTestImage(host);
    await t.start(host);
  });

  after(async () => {
    if (!host) return;
    await t.stop();
    await removeAllContainers(host);
  });

  const run = async (args: string[]): Promise<string> => (await docker(host, ['run', '-d', '--label', TEST_LABEL, ...args])).stdout.trim();

  void it('an HTTP service that starts failing is unhealthy after exactly unhealthy_threshold failures and is restarted', async (c) => {
    if (!host) return c.skip('no docker');
    const port = await freePort();
    const id = await run(['--name', name('http'), '--network', 'host', '--init',
      // a timeout well above a loaded CI machine's answer time: the failures must be the 404s
      ...labels({ 'dockhand.probe.type': 'http', 'dockhand.probe.port': port, 'dockhand.probe.interval': '1s', 'dockhand.probe.timeout': '900ms', 'dockhand.restart': 'on-unhealthy', 'dockhand.restart.stop_timeout': '1s' }),
      image, 'sh', '-c', `mkdir -p /tmp/www && echo ok > /tmp/www/index.html && exec httpd -f -p 127.0.0.1:${port} -h /tmp/www`]);
    await t.waitEvent(id, 'probe.healthy');
    const startedBefore = (await docker(host, ['inspect', '-f', '{{.State.StartedAt}}', id])).stdout.trim();

    await docker(host, ['exec', id, 'rm', '/tmp/www/index.html']);
    await t.waitEvent(id, 'restart.done');
    const [unhealthy] = await t.waitEvent(id, 'probe.unhealthy');
    const d = unhealthy?.details as { consecutive: number; evidence: { ok: boolean; counted: boolean; detail: string }[]; target: string };
    assert.equal(d.consecutive, 3);
    assert.equal(d.evidence.length, 3);
    assert.ok(d.evidence.every((e) => !e.ok && e.counted && /HTTP 404/.test(e.detail)), JSON.stringify(d.evidence));
    assert.equal(d.target, `127.0.0.1:${port}`);

    // restarted by the agent: a new start, serving again (the start command recreates the file)
    await t.waitEvent(id, 'probe.healthy', 2);
    const actions = await t.actions(id);
    assert.deepEqual(actions.slice(0, 5), ['probe.healthy', 'probe.unhealthy', 'restart.scheduled:unhealthy-probe', 'restart.done:unhealthy-probe', 'probe.healthy']);
    assert.notEqual((await docker(host, ['inspect', '-f', '{{.State.StartedAt}}', id])).stdout.trim(), startedBefore);
    const details = await t.container(id);
    assert.equal(details.state, 'running');
    assert.equal(details.restart?.restartsTotal, 1);
    assert.equal(details.restart?.stoppedOnPurpose, false, 'the agent\'s own restart is not an operator stop');
    assert.equal(details.probe?.status, 'healthy');
    const metrics = await t.get<string>('/metrics');
    assert.match(metrics, /dockhand_restarts_total\{reason="unhealthy-probe"\} 1\b/);
    assert.match(metrics, new RegExp(`dockhand_probe_up\\{id="${id}",name="[^"]+",type="http"\\} 1`));
    assert.match(metrics, new RegExp(`dockhand_probe_failures_total\\{id="${id}",name="[^"]+",type="http",reason="status"\\} [3-9]`));
  });

  void it('grace delays judgement: failures inside it are not counted', async (c) => {
    if (!host) return c.skip('no docker');
    const port = await freePort();
    const id = await run(['--name', name('grace'), '--network', 'host', '--init',
      ...labels({ 'dockhand.probe.type': 'http', 'dockhand.probe.port': port, 'dockhand.probe.grace': '3s', 'dockhand.probe.interval': '200ms', 'dockhand.probe.unhealthy_threshold': 2 }),
      image, 'sh', '-c', `mkdir -p /tmp/empty && exec httpd -f -p 127.0.0.1:${port} -h /tmp/empty`]);
    const [unhealthy] = await t.waitEvent(id, 'probe.unhealthy');
    const d = unhealthy?.details as { consecutive: number; evidence: { counted: boolean }[] };
    assert.equal(d.consecutive, 2);
    assert.ok(d.evidence.every((e) => e.counted));
    const p = await t.probe(id) as { ignoredInGrace: number; failures: number; status: string; spec: { graceMs: number } };
    assert.equal(p.status, 'unhealthy');
    assert.equal(p.spec.graceMs, 3000);
    assert.ok(p.ignoredInGrace >= 1, `failures inside the grace period were recorded, not counted: ${JSON.stringify(p)}`);
    assert.ok(p.failures >= p.ignoredInGrace + 2);
    // policy is `no` (the default): judged unhealthy, never restarted
    assert.ok(!(await t.actions(id)).some((a) => a.startsWith('restart.')));
  });

  void it('a TCP probe passes on a listening port and fails on a closed one', async (c) => {
    if (!host) return c.skip('no docker');
    const open = await freePort();
    const closed = await freePort();
    const up = await run(['--name', name('nc'), '--network', 'host', '--init', ...labels({ 'dockhand.probe.type': 'tcp', 'dockhand.probe.port': open }), image, 'nc', '-ll', '-p', String(open), '-e', 'true']);
    const down = await run(['--name', name('closed'), '--network', 'host', '--init', ...labels({ 'dockhand.probe.type': 'tcp', 'dockhand.probe.port': closed }), image, 'sleep', '300']);
    await t.waitEvent(up, 'probe.healthy');
    const [bad] = await t.waitEvent(down, 'probe.unhealthy');
    assert.equal((bad?.details as { detail: string }).detail, 'ECONNREFUSED');
    assert.equal((await t.probe(up))?.status, 'healthy');
    assert.equal((await t.probe(down))?.status, 'unhealthy');
    assert.match(await t.get<string>('/metrics'), new RegExp(`dockhand_probe_failures_total\\{id="${down}",name="[^"]+",type="tcp",reason="refused"\\} \\d+`));
  });

  void it('a reload applies new health rules: a probe starts for a container a rule now matches; an unchanged probe keeps its verdict', async (c) => {
    if (!host) return c.skip('no docker');
    const [keptPort, ruledPort] = [await freePort(), await freePort()];
    const kept = await run(['--name', name('kept'), '--network', 'host', '--init', ...labels({ 'dockhand.probe.type': 'tcp', 'dockhand.probe.port': keptPort }), image, 'nc', '-ll', '-p', String(keptPort), '-e', 'true']);
    const ruledName = name('ruled');
    const ruled = await run(['--name', ruledName, '--network', 'host', '--init', image, 'nc', '-ll', '-p', String(ruledPort), '-e', 'true']);
    await t.waitEvent(kept, 'probe.healthy');
    assert.equal(await t.probe(ruled), undefined, 'no probe before the rule');
    const report = await t.reload(`${HEALTH_CONFIG}  rules:\n    - match: { name: "${ruledName}" }\n      probe: { type: tcp, port: ${ruledPort} }\n`);
    assert.deepEqual(report.applied, ['health.rules']);
    assert.deepEqual(report.pendingRestart, []);
    await t.waitEvent(ruled, 'probe.healthy');
    assert.equal((await t.probe(kept))?.status, 'healthy');
    assert.equal((await t.waitEvent(kept, 'probe.healthy')).length, 1, 'the unchanged probe kept its verdict: no second transition');
  });

  void it('a process exiting non-zero is restarted under on-failure with growing delays', async (c) => {
    if (!host) return c.skip('no docker');
    const id = await run(['--name', name('fail'), '--network', 'none',
      ...labels({ 'dockhand.restart': 'on-failure', 'dockhand.restart.max_restarts': 10, 'dockhand.restart.backoff_base': '200ms', 'dockhand.restart.backoff_max': '10s' }),
      image, 'sh', '-c', 'sleep 0.3; exit 3']);
    await t.waitEvent(id, 'restart.done', 3);
    const scheduled = (await t.events(id)).filter((e) => e.action === 'restart.scheduled').slice(0, 3).map((e) => e.details as { attempt: number; delayMs: number; exitCode: number; reason: string });
    assert.deepEqual(scheduled.map((s) => [s.attempt, s.exitCode, s.reason]), [[1, 3, 'exit-nonzero'], [2, 3, 'exit-nonzero'], [3, 3, 'exit-nonzero']]);
    scheduled.forEach((s, i) => {
      const ceiling = 200 * 2 ** i;
      assert.ok(s.delayMs >= ceiling / 2 && s.delayMs <= ceiling, `delay ${i + 1} = ${s.delayMs} in [${ceiling / 2}, ${ceiling}]`);
      if (i > 0) assert.ok(s.delayMs >= (scheduled[i - 1] as { delayMs: number }).delayMs, 'delays grow');
    });
    await docker(host, ['rm', '-f', id]);
  });

  void it('a crash-looping container stops being restarted after max_restarts and is reported', async (c) => {
    if (!host) return c.skip('no docker');
    const id = await run(['--name', name('loop'), '--network', 'none',
      ...labels({ 'dockhand.restart': 'on-failure', 'dockhand.restart.max_restarts': 2, 'dockhand.restart.backoff_base': '100ms' }),
      image, 'sh', '-c', 'exit 1']);
    const [loop] = await t.waitEvent(id, 'restart.crashloop');
    assert.equal(loop?.level, 'error');
    assert.equal((loop?.details as { restartsInWindow: number }).restartsInWindow, 2);
    await t.waitEvent(id, 'restart.done', 2);
    await t.barrier(host, image); // a restart that must not happen would have been decided by now
    const actions = await t.actions(id);
    assert.equal(actions.filter((a) => a.startsWith('restart.done')).length, 2);
    assert.equal(actions.at(-1), 'restart.crashloop:max-restarts');
    assert.equal(await dockerState(host, id), 'exited');
    const details = await t.container(id);
    assert.equal(details.restart?.crashLooping, true);
    assert.match(await t.get<string>('/metrics'), new RegExp(`dockhand_crashloop\\{id="${id}",name="[^"]+"\\} 1`));
  });

  void it('a container stopped with docker stop is left alone', async (c) => {
    if (!host) return c.skip('no docker');
    const id = await run(['--name', name('stop'), '--network', 'none', '--init', ...labels({ 'dockhand.restart': 'always' }), image, 'sleep', '300']);
    await waitFor('agent knows the policy', async () => (await t.container(id)).restart?.policy === 'always', 10_000, 100);
    await docker(host, ['stop', id]);
    await t.waitEvent(id, 'restart.skipped');
    await t.barrier(host, image);
    assert.deepEqual(await t.actions(id), ['restart.skipped:stopped-on-purpose']);
    assert.equal(await dockerState(host, id), 'exited');
    assert.equal((await t.container(id)).restart?.stoppedOnPurpose, true);
  });

  void it('a Docker HEALTHCHECK turning unhealthy triggers on-unhealthy', async (c) => {
    if (!host) return c.skip('no docker');
    const id = await run(['--name', name('hc'), '--network', 'none', '--init',
      '--health-cmd', 'test -f /tmp/ok', '--health-interval', '300ms', '--health-retries', '1',
      ...labels({ 'dockhand.restart': 'on-unhealthy', 'dockhand.restart.stop_timeout': '1s' }),
      image, 'sh', '-c', 'touch /tmp/ok; exec sleep 300']);
    await waitFor('healthy', async () => (await t.container(id)).restart?.upSince != null, 20_000, 100);
    await docker(host, ['exec', id, 'rm', '/tmp/ok']);
    const [done] = await t.waitEvent(id, 'restart.done');
    assert.equal((done?.details as { reason: string }).reason, 'unhealthy-docker');
    await waitFor('healthy again after the restart', async () => (await docker(host, ['inspect', '-f', '{{.State.Health.Status}}', id])).stdout.trim() === 'healthy', 20_000, 200);
    assert.equal((await t.container(id)).probe, null, 'no dockhand probe: Docker\'s HEALTHCHECK was the input');
  });

  void it('a probe label naming an unreachable (unpublished) port is a configuration error, reported once', async (c) => {
    if (!host) return c.skip('no docker');
    const id = await run(['--name', name('none'), '--network', 'none', '--init', ...labels({ 'dockhand.probe.type': 'tcp', 'dockhand.probe.port': 8080 }), image, 'sleep', '300']);
    const [err] = await t.waitEvent(id, 'probe.config_error');
    assert.match((err?.details as { error: string }).error, /port 8080\/tcp is not reachable: network mode none/);
    await t.barrier(host, image); // a later sync round: still one report
    assert.equal((await t.waitEvent(id, 'probe.config_error')).length, 1);
    assert.equal(t.logs.filter((l) => l.containerId === id && l.event === 'probe.config_error' && l.level === 40).length, 1);
    const p = await t.probe(id);
    assert.equal(p?.status, 'error');
    assert.equal(p?.target, null);
    assert.match(await t.get<string>('/metrics'), /dockhand_probe_config_errors [1-9]/);
  });

  void it('bad label values: no probe, the state says why, one warning, the agent carries on', async (c) => {
    if (!host) return c.skip('no docker');
    const id = await run(['--name', name('badlabel'), '--network', 'host', '--init',
      ...labels({ 'dockhand.probe.type': 'http', 'dockhand.probe.port': 'http', 'dockhand.probe.timeout': 'fast', 'dockhand.restart': 'sometimes' }), image, 'sleep', '300']);
    const [err] = await t.waitEvent(id, 'probe.config_error');
    assert.match((err?.details as { error: string }).error, /dockhand\.probe\.port: expected an integer, got string "http"/);
    const p = await t.probe(id) as { status: string; error: string };
    assert.equal(p.status, 'error');
    assert.match(p.error, /dockhand\.probe\.timeout/);
    assert.match(p.error, /dockhand\.restart: must be one of/);
    await t.barrier(host, image);
    assert.equal(t.logs.filter((l) => l.containerId === id && l.event === 'probe.config_error').length, 2); // probe labels, restart labels
    assert.equal((await fetch(`${t.url}/healthz`)).status, 200);
  });
});

void describe('restarts after a Docker daemon restart', () => {
  void it('containers the daemon took down come back, staggered; one stopped on purpose just before does not', { timeout: 180_000 }, async (c) => {
    if (!(await requireDocker(c))) return;
    let daemon: PrivateDockerd | undefined = await startPrivateDockerd({ name: 'health' });
    const t = new TestAgent();
    c.after(async () => {
      await t.stop();
      await daemon?.cleanup();
      daemon = undefined;
    });
    const image = await ensureTestImage(daemon.host);
    const ids: string[] = [];
    for (const which of ['a', 'b']) {
      ids.push((await docker(daemon.host, ['run', '-d', '--name', `dh-outage-${which}`, '--label', TEST_LABEL, '--network', 'none', '--init', '--label', 'dockhand.restart=always', image, 'sleep', '300'])).stdout.trim());
    }
    const stopped = (await docker(daemon.host, ['run', '-d', '--name', 'dh-outage-stopped', '--label', TEST_LABEL, '--network', 'none', '--init', '--label', 'dockhand.restart=always', image, 'sleep', '300'])).stdout.trim();
    await t.start(daemon.host);
    await waitFor('policies known', async () => (await Promise.all([...ids, stopped].map((id) => t.container(id)))).every((d) => d.restart?.policy === 'always'), 10_000, 100);
    // An operator's stop a moment before the daemon's shutdown: by timing alone it would pass
    // for part of the shutdown's burst of stops (which look exactly like `docker stop`); the
    // daemon's own record (HasBeenManuallyStopped, readable here as root) tells them apart.
    await docker(daemon.host, ['stop', '-t', '1', stopped]);
    await t.waitEvent(stopped, 'restart.skipped');

    await daemon.restart();
    try {
      for (const id of ids) await t.waitEvent(id, 'restart.done', 1, 60_000);
    } catch (err) {
      // say what the agent decided instead, and what Docker sent
      const seen = await Promise.all([...ids, stopped].map(async (id) => `${id.slice(0, 12)}: ${(await t.actions(id)).join(', ')}`));
      const { events } = await t.get<{ events: RecordedEvent[] }>('/v1/events?limit=5000');
      const docker = events.filter((e) => e.kind === 'container' || e.action.startsWith('docker.')).map((e) => (e.kind === 'container' ? `${e.time} ${e.action} ${e.containerId.slice(0, 12)}` : `${e.time} ${e.action}`));
      throw new Error(`${(err as Error).message}\nagent decisions:\n  ${seen.join('\n  ')}\nevents:\n  ${docker.join('\n  ')}`, { cause: err });
    }
    for (const id of ids) assert.equal(await dockerState(daemon.host, id), 'running');
    await t.barrier(daemon.host, image); // a restart of `stopped` that must not happen would have been decided by now
    assert.deepEqual(await t.actions(stopped), ['restart.skipped:stopped-on-purpose']);
    assert.equal(await dockerState(daemon.host, stopped), 'exited');
    const scheduled = (await Promise.all(ids.map((id) => t.events(id)))).map((evs) => evs.find((e) => e.action === 'restart.scheduled')?.details as { reason: string; delayMs: number });
    assert.deepEqual(scheduled.map((s) => s.reason), ['outage', 'outage']);
    assert.ok((scheduled[1] as { delayMs: number }).delayMs >= 300, `the second waits its stagger slot: ${JSON.stringify(scheduled)}`);
    const { events } = await t.get<{ events: RecordedEvent[] }>('/v1/events?limit=5000');
    const judged = events.filter((e) => e.kind === 'agent' && e.action === 'restart.stops_judged').map((e) => (e.kind === 'agent' ? e.details : {}));
    assert.deepEqual(judged, [{ first: false, source: 'daemon-record', stoppedOnPurpose: ['dh-outage-stopped'], notStoppedOnPurpose: ['dh-outage-a', 'dh-outage-b'] }]);
  });
});

/** A unix-socket relay between the agent and dockerd: `cut()` drops the agent's connections, daemon untouched. */
class SocketRelay {
  readonly path: string;
  readonly #server: net.Server;
  readonly #sockets = new Set<net.Socket>();
  constructor(path: string, target: string) {
    this.path = path;
    this.#server = net.createServer((client) => {
      const upstream = net.connect(target);
      for (const sock of [client, upstream]) {
        this.#sockets.add(sock);
        sock.on('close', () => this.#sockets.delete(sock));
        sock.on('error', () => undefined);
      }
      client.pipe(upstream).pipe(client);
      client.on('close', () => upstream.destroy());
      upstream.on('close', () => client.destroy());
    });
  }
  listen(): Promise<void> {
    return new Promise((resolve) => this.#server.listen(this.path, resolve));
  }
  cut(): void {
    for (const sock of this.#sockets) sock.destroy();
  }
  close(): Promise<void> {
    this.cut();
    return new Promise((resolve) => this.#server.close(() => resolve()));
  }
}

void describe('a lost connection to Docker (no daemon restart)', () => {
  void it('judged by timing alone, a burst of docker stop just before the loss stays stopped: other containers ran through it', { timeout: 120_000 }, async (c) => {
    if (!(await requireDocker(c))) return;
    let daemon: PrivateDockerd | undefined = await startPrivateDockerd({ name: 'relay' });
    const t = new TestAgent();
    const dir = await mkdtemp(join(tmpdir(), 'dockhand-relay-'));
    const relay = new SocketRelay(join(dir, 'docker.sock'), daemon.host.replace(/^unix:\/\//, ''));
    c.after(async () => {
      await t.stop();
      await relay.close();
      await daemon?.cleanup();
      daemon = undefined;
      await rm(dir, { recursive: true, force: true });
    });
    await relay.listen();
    const image = await ensureTestImage(daemon.host);
    const ids: Record<string, string> = {};
    for (const which of ['keep', 'b', 'c']) {
      ids[which] = (await docker(daemon.host, ['run', '-d', '--name', `dh-drop-${which}`, '--label', TEST_LABEL, '--network', 'none', '--init', '--label', 'dockhand.restart=always', image, 'sleep', '300'])).stdout.trim();
    }
    const [keep, b, cc] = [ids.keep, ids.b, ids.c] as [string, string, string];
    // the daemon's record off: this is the unprivileged agent's view (the systemd unit's user)
    try {
      await t.start(`unix://${relay.path}`, `${HEALTH_CONFIG.replace('stagger: 300ms }', 'stagger: 300ms, daemon_record: false }')}`);
      await waitFor('policies known', async () => (await Promise.all([keep, b, cc].map((id) => t.container(id)))).every((d) => d.restart?.policy === 'always'), 10_000, 100);

      // `docker stop b c` — a burst, exactly what a daemon shutdown sends — then the connection drops
      await docker(daemon.host, ['stop', '-t', '1', b, cc]);
      for (const id of [b, cc]) await t.waitEvent(id, 'restart.skipped');
      relay.cut();

      const judged = await waitFor('stops judged after the reconnect', async () => {
        const { events } = await t.get<{ events: RecordedEvent[] }>('/v1/events?limit=5000');
        return events.find((e): e is AgentEvent => e.kind === 'agent' && e.action === 'restart.stops_judged');
      }, 30_000, 100);
      assert.deepEqual(judged.details, {
        first: false,
        source: 'event-timing',
        stoppedOnPurpose: [],
        notStoppedOnPurpose: [],
        survivedTheLoss: ['dh-drop-keep'],
        unavailable: 'turned off (health.restart.daemon_record: false)',
      });
      await t.barrier(daemon.host, image); // restarts that must not happen would have been decided by now
      for (const id of [b, cc]) {
        assert.deepEqual(await t.actions(id), ['restart.skipped:stopped-on-purpose']);
        assert.equal(await dockerState(daemon.host, id), 'exited');
      }
      assert.equal(await dockerState(daemon.host, keep), 'running');
    } catch (err) {
      // what the agent saw and decided, for a failure that only shows under load
      const seen = t.url ? (await t.get<{ events: RecordedEvent[] }>('/v1/events?limit=5000').catch(() => ({ events: [] }))).events : [];
      const lines = seen.map((e) => (e.kind === 'container' ? `${e.time} ${e.action} ${e.containerName}` : `${e.time} ${e.action} ${e.message}`));
      throw new Error(`${(err as Error).message}\n  ${lines.join('\n  ')}`, { cause: err });
    }
  });
});
