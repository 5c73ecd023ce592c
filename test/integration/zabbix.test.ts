/**
 * zabbix/dockhand-template.yaml in a real Zabbix 6.0 server (Debian's packages, started once for
 * the file by test/helpers/zabbix-server.ts) linked to a host whose agent is the built dockhand,
 * as a new user would: import the template, create the host with its macros, let discovery and
 * the HTTP agent items run (forced with "execute now"), and read back what Zabbix made of it —
 * what it discovered, which items it marks "not supported", the values it stored, the problems it
 * opened and closed. Each finding of the first real import has its case here: -1 into unsigned
 * items, a restart problem that closed at the next poll, "Stalled for Stalled (1)", containers
 * lingering past keep_stopped, a last-seen of 1970, and a wrong token that only nodata() noticed.
 *
 * The cases share one Zabbix server and one agent, and run in order: each changes what the next
 * one sees (a container restarted, a token changed, causes removed). Timings are reported, never
 * asserted.
 */
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm, writeFile, mkdir } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { TestContext } from 'node:test';
import { AgentProcess, cleanEnv } from '../helpers/agent-process.ts';
import { TEST_LABEL, docker, ensureTestImage, removeAllContainers, resolveTestDockerHost } from '../helpers/docker-engine.ts';
import { JsonLinesReceiver } from '../helpers/json-lines-receiver.ts';
import { createPki } from '../helpers/pki.ts';
import { freePort } from '../helpers/ports.ts';
import { missing } from '../helpers/requirements.ts';
import { waitFor } from '../helpers/wait.ts';
import { startZabbix, zabbixMissing } from '../helpers/zabbix-server.ts';
import type { ZabbixServer } from '../helpers/zabbix-server.ts';

const TEMPLATE = new URL('../../zabbix/dockhand-template.yaml', import.meta.url);
const TOKEN = 'zabbix-e2e-token';
const HOST = 'dockhand-e2e';
// long enough for the cases before the last one to see the OOM-killed container; the last waits out the rest
const KEEP_STOPPED_S = 75;
const HTTP_AGENT = '19';
const NAMES = { web: `dh-zbx-web-${process.pid}`, probe: `dh-zbx-probe-${process.pid}`, crash: `dh-zbx-crash-${process.pid}`, oom: `dh-zbx-oom-${process.pid}` };

interface ZItem { itemid: string; key_: string; type: string; state: string; error: string; lastvalue: string; lastclock: string; flags: string; master_itemid: string; history: string; preprocessing?: { type: string; error_handler: string }[] }
interface ZProblem { eventid: string; name: string; opdata: string; r_eventid: string }
interface ContainerRecord { name: string; state: string; exitCode: number | null; restartCount: number; startedAt: string | null; finishedAt: string | null }

interface World {
  zabbix: ZabbixServer;
  agent: AgentProcess;
  dockerHost: string;
  base: string;
  dir: string;
  ports: { web: number; probe: number; receiver: number };
  hostid: string;
  started: number;
}

let world: World | undefined;
let skipped: string | undefined;
const cleanups: (() => Promise<unknown>)[] = [];

/** A unix time in seconds, as Zabbix stores clocks. */
const nowS = (): number => Math.floor(Date.now() / 1000);

function need(t: TestContext): World | undefined {
  if (skipped !== undefined) {
    missing(t, skipped);
    return undefined;
  }
  assert.ok(world, 'the shared set-up did not finish');
  return world;
}

async function agentGet<T>(w: World, path: string): Promise<T> {
  const res = await fetch(`${w.base}${path}`, { headers: { authorization: `Bearer ${TOKEN}` } });
  assert.equal(res.status, 200, `${path}: ${await res.clone().text()}`);
  return (await res.json()) as T;
}

async function items(w: World, extra: Record<string, unknown> = {}): Promise<ZItem[]> {
  return w.zabbix.api.call<ZItem[]>('item.get', { hostids: w.hostid, output: ['itemid', 'key_', 'type', 'state', 'error', 'lastvalue', 'lastclock', 'flags', 'master_itemid', 'history'], ...extra });
}

async function problems(w: World): Promise<ZProblem[]> {
  return w.zabbix.api.call<ZProblem[]>('problem.get', { hostids: w.hostid, output: ['eventid', 'name', 'opdata', 'r_eventid'], recent: false });
}

/**
 * Forces the host's HTTP agent items and discovery rules (all, or those whose key matches) to be
 * checked now, again every few seconds, until `done` holds: a task for an item the server's
 * configuration cache does not hold yet (just discovered) is dropped, so one request is not enough.
 */
async function pollUntil<T>(w: World, what: string, done: () => Promise<T>, keys?: RegExp, timeoutMs = 60_000): Promise<NonNullable<T>> {
  let last = 0;
  return waitFor(what, async () => {
    if (Date.now() - last > 4000) {
      last = Date.now();
      const rules = await w.zabbix.api.call<{ itemid: string; key_: string }[]>('discoveryrule.get', { hostids: w.hostid, output: ['itemid', 'key_'] });
      const http = (await items(w, { filter: { type: HTTP_AGENT } })).filter((i) => i.flags !== '2');
      await w.zabbix.checkNow([...rules, ...http].filter((i) => !keys || keys.test(i.key_)).map((i) => i.itemid));
    }
    return done();
  }, timeoutMs, 500);
}

const DISCARDS = new Set(['19', '20']); // "discard unchanged", with or without a heartbeat

/**
 * The item whose clock shows that an HTTP agent item was polled: itself when it keeps history;
 * else (the masters keep none, so Zabbix shows no clock for them) a dependent item that stores
 * every value it gets.
 */
function witness(http: ZItem, all: ZItem[]): ZItem | undefined {
  if (http.history !== '0') return http;
  return all.find((d) => d.master_itemid === http.itemid && !(d.preprocessing ?? []).some((p) => DISCARDS.has(p.type) || p.error_handler === '1'));
}

/** Waits until every HTTP agent item (or those whose key matches) was polled after this call. */
async function pollAll(w: World, what: string, keys?: RegExp): Promise<void> {
  const since = nowS();
  await pollUntil(w, what, async () => {
    const all = await items(w, { selectPreprocessing: ['type', 'error_handler'] });
    const http = all.filter((i) => i.type === HTTP_AGENT && (i.flags === '0' || i.flags === '4') && (!keys || keys.test(i.key_)));
    return http.length > 0 && http.every((i) => Number(witness(i, all)?.lastclock ?? 0) >= since);
  }, keys);
}

async function openProblem(w: World, name: string): Promise<ZProblem | undefined> {
  return (await problems(w)).find((p) => p.name === name);
}

function byKey(list: ZItem[], key: string): ZItem {
  const item = list.find((i) => i.key_ === key);
  assert.ok(item, `no item ${key} (items: ${list.map((i) => i.key_).join(', ')})`);
  return item;
}

async function run(host: string, args: string[]): Promise<string> {
  return (await docker(host, ['run', '-d', '--label', TEST_LABEL, ...args])).stdout.trim();
}

async function containerState(host: string, name: string): Promise<{ Status: string; ExitCode: number; OOMKilled: boolean }> {
  return JSON.parse((await docker(host, ['inspect', '--format', '{{json .State}}', name])).stdout) as { Status: string; ExitCode: number; OOMKilled: boolean };
}

interface AgentSide { dir: string; ports: { api: number; web: number; probe: number; receiver: number }; image: string }

/** What can be made while the Zabbix server starts: files, ports, the two probed containers. */
async function prepareAgentSide(dockerHost: string): Promise<AgentSide> {
  const image = await ensureTestImage(dockerHost);
  // not dockhand-zabbix-*: the Zabbix helper's reapOrphans() removes those without an owner file,
  // and it runs while this is being made
  const dir = await mkdtemp(join(tmpdir(), 'dockhand-zbx-e2e-'));
  cleanups.push(() => rm(dir, { recursive: true, force: true }));
  cleanups.push(() => removeAllContainers(dockerHost));
  await mkdir(join(dir, 'logs'));
  await mkdir(join(dir, 'flag'));
  await writeFile(join(dir, 'token'), `${TOKEN}\n`, { mode: 0o600 });
  // with a stack trace: the exceptions discovery finds the app aether
  await writeFile(join(dir, 'logs', 'weberror_aether_nor_8_778283_20150819.log'), 'one\ntwo\njava.lang.IllegalStateException: boom\n\tat com.example.A.b(A.java:1)\nthree\n');
  // a registry CA valid for two days, for the audit's certificate discovery and its expiry trigger
  const pki = await createPki({ cas: ['zbx-registry-ca'], leaves: [] });
  cleanups.push(() => pki.cleanup());
  await mkdir(join(dir, 'certs.d', 'registry.invalid'), { recursive: true });
  await writeFile(join(dir, 'certs.d', 'registry.invalid', 'ca.crt'), pki.pem('zbx-registry-ca.crt'));
  const ports = { api: await freePort(), web: await freePort(), probe: await freePort(), receiver: await freePort() };
  const probeLabels = (type: string, port: number): string[] => ['--label', `dockhand.probe.type=${type}`, '--label', `dockhand.probe.port=${port}`];
  await run(dockerHost, ['--name', NAMES.web, '--network', 'host', '--init', ...probeLabels('http', ports.web), image, 'httpd', '-f', '-p', `127.0.0.1:${ports.web}`, '-h', '/var/www']);
  // probes a port nothing listens on until the test starts httpd in it
  await run(dockerHost, ['--name', NAMES.probe, '--network', 'host', '--init', ...probeLabels('tcp', ports.probe), image, 'sleep', '3600']);
  return { dir, ports, image };
}

/**
 * A container OOM-killed before the agent starts (so no sweep ever sees it run: the "1970" case),
 * then the agent, then a crash with exit code 3 (it runs for good once /flag/ok exists). The OOM
 * kill comes after the Zabbix server is up, so keep_stopped counts from late enough.
 */
async function startAgent(dockerHost: string, side: AgentSide): Promise<{ agent: AgentProcess; base: string }> {
  const { dir, ports, image } = side;
  await run(dockerHost, ['--name', NAMES.oom, '--network', 'none', '--memory', '32m', '--memory-swap', '32m', image, 'sh', '-c', 'a=$(head -c 200000000 /dev/zero | tr "\\0" a); echo survived']);
  await waitFor('the OOM kill', async () => {
    const oom = await containerState(dockerHost, NAMES.oom);
    return oom.Status === 'exited' && oom.OOMKilled;
  }, 60_000, 200);
  const config = join(dir, 'dockhand.yaml');
  await writeFile(config, `
state_dir: ${dir}/state
docker:
  host: ${dockerHost}
api:
  listen: 127.0.0.1:${ports.api}
  token_file: ${dir}/token
metrics:
  interval: 2s
  keep_stopped: ${KEEP_STOPPED_S}s
logs:
  roots: [${dir}/logs]
  stall_warning: 2s
outputs:
  - type: tcp
    hosts: [127.0.0.1:${ports.receiver}]
    backoff_base: 200ms
    backoff_max: 1s
health:
  defaults: { interval: 1s, timeout: 500ms, grace: 0s, unhealthy_threshold: 2 }
audit:
  certs_dir: ${dir}/certs.d
  registry_timeout: 1s
`);
  const agent = new AgentProcess(['run', '--config', config], cleanEnv());
  cleanups.push(() => agent.dispose());
  await waitFor('agent started', () => agent.find('dockhand started') ?? agent.lines.find((l) => l.level === 'fatal'), 30_000);
  assert.equal(agent.find('dockhand started')?.msg, 'dockhand started', JSON.stringify(agent.lines.at(-1)));
  await run(dockerHost, ['--name', NAMES.crash, '--network', 'none', '-v', `${dir}/flag:/flag`, image, 'sh', '-c', 'test -e /flag/ok && exec sleep 3600; exit 3']);
  const base = `http://127.0.0.1:${ports.api}`;
  // the container list is complete (503 before) and names all four, the crash ended
  await waitFor('all four containers in discovery, the crash ended', async () => {
    const res = await fetch(`${base}/v1/zabbix/containers`, { headers: { authorization: `Bearer ${TOKEN}` } });
    if (res.status !== 200) return false;
    const rows = ((await res.json()) as { data: Record<string, string>[] }).data.map((r) => r['{#CONTAINER.NAME}']);
    const crash = await fetch(`${base}/v1/zabbix/containers/${NAMES.crash}`, { headers: { authorization: `Bearer ${TOKEN}` } });
    return Object.values(NAMES).every((n) => rows.includes(n)) && crash.ok && ((await crash.json()) as { exitCode: number }).exitCode === 3;
  }, 30_000, 200);
  return { agent, base };
}

async function linkHost(zabbix: ZabbixServer, port: number): Promise<string> {
  const { api } = zabbix;
  const source = await readFile(TEMPLATE, 'utf8');
  const update = { createMissing: true, updateExisting: true };
  const rules = { groups: { createMissing: true }, templates: update, items: update, triggers: update, discoveryRules: update, valueMaps: update };
  assert.equal(await api.call('configuration.import', { format: 'yaml', rules, source }), true);
  const [template] = await api.call<{ templateid: string }[]>('template.get', { filter: { host: 'dockhand by HTTP' }, output: ['templateid'] });
  const [group] = await api.call<{ groupid: string }[]>('hostgroup.get', { filter: { name: 'Linux servers' }, output: ['groupid'] });
  assert.ok(template && group);
  const { hostids } = await api.call<{ hostids: string[] }>('host.create', {
    host: HOST,
    groups: [{ groupid: group.groupid }],
    templates: [{ templateid: template.templateid }],
    interfaces: [{ type: 1, main: 1, useip: 1, ip: '127.0.0.1', dns: '', port: '10050' }],
    macros: [
      { macro: '{$DOCKHAND.PORT}', value: String(port) },
      { macro: '{$DOCKHAND.TOKEN}', value: TOKEN, type: 1 },
    ],
  });
  await zabbix.reloadConfigCache();
  return hostids[0] as string;
}

void describe('the Zabbix template in a real Zabbix 6.0 server, linked to a host running dockhand', { timeout: 280_000 }, () => {
  before(async () => {
    const started = Date.now();
    const dockerHost = await resolveTestDockerHost();
    const why = dockerHost ? await zabbixMissing() : 'no Docker engine: DOCKHAND_TEST_DOCKER_HOST is unset (run through `npm test` or scripts/test.ts)';
    if (why !== undefined || !dockerHost) {
      skipped = why;
      return;
    }
    // the server's ~10 s start and the agent's files and containers at once
    const [zabbix, side] = await Promise.all([
      startZabbix().then((z) => (cleanups.push(() => z.stop()), z)),
      prepareAgentSide(dockerHost),
    ]);
    const { agent, base } = await startAgent(dockerHost, side);
    const hostid = await linkHost(zabbix, side.ports.api);
    world = { zabbix, agent, dockerHost, base, dir: side.dir, ports: side.ports, hostid, started };
  });

  after(async () => {
    for (const c of cleanups.reverse()) await c().catch(() => undefined);
  });

  void it('discovers the containers, log files, container output and probes; no item is "not supported"; values match /v1/containers', async (t) => {
    const w = need(t);
    if (!w) return;
    t.diagnostic(`Zabbix server up in ${w.zabbix.timings.total} ms (${Object.entries(w.zabbix.timings).filter(([k]) => k !== 'total').map(([k, v]) => `${k} ${v} ms`).join(', ')}); agent side ready ${Date.now() - w.started} ms after the start`);
    const perContainer = (list: ZItem[], name: string): ZItem[] => list.filter((i) => i.flags === '4' && i.key_.startsWith('dockhand.container.') && i.key_.endsWith(`[${name}]`));
    await pollUntil(w, 'containers, the log file and both probes discovered', async () => {
      const all = await items(w);
      return Object.values(NAMES).every((n) => perContainer(all, n).length > 0) && all.some((i) => i.key_.startsWith('dockhand.log.lag[')) && all.some((i) => i.key_ === `dockhand.probe.ok[${NAMES.probe}]`) && all.some((i) => i.key_ === `dockhand.probe.ok[${NAMES.web}]`)
        && all.some((i) => i.key_ === 'dockhand.exceptions.last_new[aether]') && all.some((i) => i.key_ === `dockhand.log.container.state[${NAMES.web}]`);
    }, /discovery$/);
    await w.zabbix.reloadConfigCache();
    await pollAll(w, 'every HTTP agent item polled');
    const all = await items(w);
    const unsupported = all.filter((i) => i.state !== '0').map((i) => `${i.key_}: ${i.error}`);
    assert.deepEqual(unsupported, [], 'no item or discovered item is "not supported"');
    const rules = await w.zabbix.api.call<{ key_: string; state: string; error: string }[]>('discoveryrule.get', { hostids: w.hostid, output: ['key_', 'state', 'error'] });
    assert.deepEqual(rules.filter((r) => r.state !== '0'), [], 'discovery rules are supported');
    const counts = Object.values(NAMES).map((n) => perContainer(all, n).length);
    assert.equal(new Set(counts).size, 1, `the same items for every container: ${counts.join(', ')}`);
    t.diagnostic(`items discovered per container: ${counts[0]}; items on the host: ${all.length}`);
    assert.ok(all.some((i) => i.key_ === `dockhand.log.lag["${w.dir}/logs/weberror_aether_nor_8_778283_20150819.log"]`));
    assert.equal(byKey(all, 'dockhand.exceptions.total[aether]').lastvalue, '1', 'the trace in the log file, counted');
    assert.equal(byKey(all, 'dockhand.exceptions.all').lastvalue, '1');
    // container output discovery: the running web container's stream, as /v1/logs lists it
    const { containers: streams } = await agentGet<{ containers: { name: string; state: string }[] }>(w, '/v1/logs');
    assert.equal(streams.find((c) => c.name === NAMES.web)?.state, 'streaming');
    assert.equal(byKey(all, `dockhand.log.container.state[${NAMES.web}]`).lastvalue, 'streaming');
    assert.match(byKey(all, `dockhand.log.container.pending[${NAMES.web}]`).lastvalue, /^\d+$/);

    // what Zabbix stored for each container is what the control plane sees
    const { containers } = await agentGet<{ containers: ContainerRecord[] }>(w, '/v1/containers');
    for (const name of Object.values(NAMES)) {
      const c = containers.find((r) => r.name === name);
      assert.ok(c, `${name} in /v1/containers`);
      const value = (what: string): string => byKey(all, `dockhand.container.${what}[${name}]`).lastvalue;
      assert.equal(value('state'), c.state, `${name}: state`);
      assert.equal(value('running'), c.state === 'running' ? '1' : '0', `${name}: running`);
      assert.equal(value('exit_code'), String(c.exitCode ?? 0), `${name}: exit code`);
      assert.equal(value('restart_count'), String(c.restartCount), `${name}: restarts`);
      assert.equal(value('started'), String(Math.floor(Date.parse(c.startedAt ?? '') / 1000)), `${name}: start time`);
    }
    const oom = containers.find((r) => r.name === NAMES.oom);
    // OOM-killed before the agent's first sweep: last seen is when it ended, not 0 (1970)
    assert.equal(byKey(all, `dockhand.container.last_seen[${NAMES.oom}]`).lastvalue, String(Math.floor(Date.parse(oom?.finishedAt ?? '') / 1000)));
    assert.equal(byKey(all, `dockhand.container.oom_killed[${NAMES.oom}]`).lastvalue, '1');
    // before any ACK: a number (since the agent started), not -1 into an unsigned item
    assert.match(byKey(all, 'dockhand.logs.last_ack_age').lastvalue, /^\d+$/);
    assert.match(byKey(all, 'dockhand.metrics.sweep_age').lastvalue, /^\d+$/);
    assert.equal(byKey(all, 'dockhand.api.status').lastvalue, '200');
  });

  void it('the audit: a findings item per check, a days-left item per certificate, their triggers with the severity of the check', async (t) => {
    const w = need(t);
    if (!w) return;
    const cert = `${w.dir}/certs.d/registry.invalid/ca.crt`;
    const audit = await agentGet<{ findings: { check: string; containerName?: string }[] }>(w, '/v1/audit');
    const webRoot = audit.findings.filter((f) => f.check === 'container.root_user').length;
    assert.ok(webRoot >= 2, 'the test containers run as root');
    await pollUntil(w, 'audit checks and the certificate discovered', async () => {
      const all = await items(w);
      return all.some((i) => i.key_ === 'dockhand.audit.check.findings[container.root_user]') && all.some((i) => i.key_ === `dockhand.audit.cert.days_left["${cert}"]`);
    }, /discovery$/);
    await w.zabbix.reloadConfigCache();
    await pollAll(w, 'the audit items polled', /^dockhand\.audit\./);
    const all = await items(w);
    assert.deepEqual(all.filter((i) => i.key_.startsWith('dockhand.audit.') && i.state !== '0').map((i) => `${i.key_}: ${i.error}`), [], 'no audit item is "not supported"');
    assert.ok(Number(byKey(all, 'dockhand.audit.check.findings[container.root_user]').lastvalue) >= webRoot);
    assert.equal(byKey(all, 'dockhand.audit.check.findings[container.privileged]').lastvalue, '0');
    const days = Number(byKey(all, `dockhand.audit.cert.days_left["${cert}"]`).lastvalue);
    assert.ok(days > 0 && days <= 2, `days left ${days}`);
    assert.ok(Number(byKey(all, 'dockhand.audit.findings').lastvalue) > 0);

    const rootProblem = 'Audit: Running as root (container.root_user, CIS 4.1)';
    const hostNetProblem = 'Audit: Host network namespace shared (container.host_network, CIS 5.9)';
    const certProblem = `Certificate ${cert} expires within 30 days (registry registry.invalid CA)`;
    let seen: ZProblem[] = [];
    await pollUntil(w, 'audit problems open', async () => {
      seen = await problems(w);
      return [rootProblem, hostNetProblem, certProblem].every((n) => seen.some((p) => p.name === n));
    }, /^dockhand\.audit\./).catch((err: unknown) => assert.fail(`${(err as Error).message}; open: ${seen.map((p) => p.name).join('; ')}`));
    // the severity comes from the check, by LLD override: high for host_network, warning for root (medium)
    const triggers = await w.zabbix.api.call<{ description: string; priority: string }[]>('trigger.get', { hostids: w.hostid, output: ['description', 'priority'], filter: { flags: 4 } });
    const priority = (name: string): string | undefined => triggers.find((tr) => tr.description === name)?.priority;
    assert.equal(priority('Audit: Host network namespace shared (container.host_network, CIS 5.9)'), '4');
    assert.equal(priority('Audit: Running as root (container.root_user, CIS 4.1)'), '2');
    assert.equal(priority('Audit: No memory limit (container.no_memory_limit, CIS 5.10)'), '1');
  });

  void it('fires for a non-zero exit, an OOM kill, a failing probe and stalled log shipping, with operational data that says how long', async (t) => {
    const w = need(t);
    if (!w) return;
    // removed as soon as possible: within keep_stopped it stays listed, with its OOM kill, and the
    // last case waits for keep_stopped to pass from its end
    await docker(w.dockerHost, ['rm', NAMES.oom]);
    await waitFor('the agent keeps the removed container', async () => (await agentGet<{ state: string }>(w, `/v1/zabbix/containers/${NAMES.oom}`)).state === 'removed', 30_000, 200);
    const expected = [
      `Container ${NAMES.crash} is down`,
      `Container ${NAMES.oom} was OOM-killed`,
      `Probe of ${NAMES.probe} failing (tcp 127.0.0.1:${w.ports.probe})`,
      'dockhand: Log shipping to Logstash stalled',
    ];
    let seen: ZProblem[] = [];
    const open = await pollUntil(w, `problems: ${expected.join('; ')}`, async () => {
      seen = await problems(w);
      return expected.every((name) => seen.some((p) => p.name === name)) ? seen : undefined;
    }).catch((err: unknown) => assert.fail(`${(err as Error).message}; open: ${seen.map((p) => p.name).join('; ')}`));
    t.diagnostic(`open problems: ${open.map((p) => `${p.name} [${p.opdata}]`).join('; ')}`);
    assert.equal(open.find((p) => p.name === expected[0])?.opdata, 'Exit code: 3');
    // was "Stalled for Stalled (1)": the 0/1 item through its value map
    assert.match(open.find((p) => p.name === expected[3])?.opdata ?? '', /^Stalled for \d+s$/);
    assert.ok(!open.some((p) => p.name.includes(NAMES.web)), 'nothing about the healthy web container');
  });

  void it('recovers when the causes go: the crash runs, the probe passes, Logstash acknowledges', async (t) => {
    const w = need(t);
    if (!w) return;
    await writeFile(join(w.dir, 'flag', 'ok'), '');
    await docker(w.dockerHost, ['start', NAMES.crash]);
    await docker(w.dockerHost, ['exec', '-d', NAMES.probe, 'httpd', '-p', `127.0.0.1:${w.ports.probe}`, '-h', '/var/www']);
    const receiver = await JsonLinesReceiver.start({ port: w.ports.receiver });
    cleanups.push(() => receiver.close());
    const gone = [`Container ${NAMES.crash} is down`, `Probe of ${NAMES.probe} failing (tcp 127.0.0.1:${w.ports.probe})`, 'dockhand: Log shipping to Logstash stalled'];
    const since = Date.now();
    await pollUntil(w, `resolved: ${gone.join('; ')}`, async () => {
      const list = await problems(w);
      return gone.every((name) => !list.some((p) => p.name === name));
    });
    t.diagnostic(`resolved ${Date.now() - since} ms after the causes went`);
    assert.ok(receiver.lineCount > 0, 'the stalled lines reached Logstash');
    assert.match(byKey(await items(w), 'dockhand.logs.last_ack_age').lastvalue, /^\d+$/);
  });

  void it('a wrong token opens "API refuses the token" at the next poll (not after nodata\'s 5 minutes), and the right one closes it', async (t) => {
    const w = need(t);
    if (!w) return;
    const api = w.zabbix.api;
    const [macro] = await api.call<{ hostmacroid: string }[]>('usermacro.get', { hostids: w.hostid, filter: { macro: '{$DOCKHAND.TOKEN}' }, output: ['hostmacroid'] });
    assert.ok(macro);
    const setToken = async (value: string): Promise<void> => {
      await api.call('usermacro.update', { hostmacroid: macro.hostmacroid, value });
      await w.zabbix.reloadConfigCache();
    };
    const name = 'dockhand: API refuses the token (401)';
    await setToken('not-the-token');
    const since = Date.now();
    await pollUntil(w, name, () => openProblem(w, name), /^dockhand\.api\.status$/);
    t.diagnostic(`"${name}" opened ${Date.now() - since} ms after the macro changed`);
    assert.equal(byKey(await items(w), 'dockhand.api.status').lastvalue, '401');
    await setToken(TOKEN);
    await pollUntil(w, `${name} resolved`, async () => (await openProblem(w, name)) === undefined, /^dockhand\.api\.status$/);
  });

  void it('a restart stays a problem beyond the next poll (changecount over a period, not change())', async (t) => {
    const w = need(t);
    if (!w) return;
    const before = (await agentGet<{ startedAt: number }>(w, `/v1/zabbix/containers/${NAMES.web}`)).startedAt;
    await docker(w.dockerHost, ['restart', '-t', '1', NAMES.web]);
    await waitFor('the agent sees the new run', async () => (await agentGet<{ startedAt: number }>(w, `/v1/zabbix/containers/${NAMES.web}`)).startedAt > before, 30_000, 200);
    const name = `Container ${NAMES.web} has been restarted`;
    const key = new RegExp(`^dockhand\\.container\\.get\\[${NAMES.web}\\]$`);
    await pollUntil(w, name, () => openProblem(w, name), key);
    // two more polls of the container: with change() the first of them closed the problem
    for (let n = 1; n <= 2; n++) await pollAll(w, `poll ${n} after the restart`, key);
    assert.ok(await openProblem(w, name), `${name} is still open after two more polls`);
  });

  void it('a container past keep_stopped disappears with its items and problems: no 404s meanwhile, nothing left open', async (t) => {
    const w = need(t);
    if (!w) return;
    // past keep_stopped the agent stops listing the OOM-killed container (removed by the second
    // case; it still answers for its items meanwhile), and the next discovery deletes them, which
    // closes the problem the second case saw open
    const oomOpen = `Container ${NAMES.oom} was OOM-killed`;
    const since = Date.now();
    await waitFor(`${NAMES.oom} past keep_stopped (${KEEP_STOPPED_S} s)`, async () => {
      const { data } = await agentGet<{ data: Record<string, string>[] }>(w, '/v1/zabbix/containers');
      return !data.some((r) => r['{#CONTAINER.NAME}'] === NAMES.oom);
    }, (KEEP_STOPPED_S + 30) * 1000, 1000);
    t.diagnostic(`waited ${Date.now() - since} ms for keep_stopped to pass`);
    await pollAll(w, 'a poll of every item after keep_stopped', /\.get(\[|$)|\.status$/);
    assert.deepEqual((await items(w, { filter: { state: 1 } })).map((i) => `${i.key_}: ${i.error}`), [], 'no item turned "not supported" (the document lingers)');
    await pollUntil(w, `${NAMES.oom}'s items deleted by discovery`, async () => (await items(w)).every((i) => !i.key_.includes(NAMES.oom)), /^dockhand\.containers\.discovery$/);
    await waitFor(`"${oomOpen}" closed`, async () => (await openProblem(w, oomOpen)) === undefined, 30_000, 500);
    // the audit's problems (root, host network, the two-day CA) stay open while their causes do
    const left = (await problems(w)).map((p) => p.name).filter((n) => !n.startsWith('Audit: ') && !n.startsWith('Certificate '));
    assert.ok(left.every((n) => /has been restarted$/.test(n)), `only restarts are left open: ${left.join('; ')}`);
    t.diagnostic(`whole Zabbix test: ${Date.now() - w.started} ms`);
  });
});
