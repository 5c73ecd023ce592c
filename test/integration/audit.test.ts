// The host security audit on real parts: a private dockerd started with a TCP socket without
// --tlsverify on loopback, containers run with the flags the checks are about, a certs.d with
// an expired CA and with a CA that did not sign a loopback TLS server posing as a registry, the
// agent's own output certificates — all through the whole agent in process, its API and
// /metrics. Then the built agent run as an unprivileged user: root-only inputs are reported
// "not checked: permission", never passed.
import assert from 'node:assert/strict';
import { execFile, spawnSync } from 'node:child_process';
import { chmod, chown, mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createServer } from 'node:tls';
import type { Server } from 'node:tls';
import { after, before, describe, it } from 'node:test';
import { promisify } from 'node:util';
import { pino } from 'pino';
import { Agent } from '../../src/agent.ts';
import { loadConfig } from '../../src/configuration.ts';
import type { AgentEvent, RecordedEvent } from '../../src/docker/types.ts';
import { AgentProcess, cleanEnv } from '../helpers/agent-process.ts';
import { JsonLinesReceiver } from '../helpers/json-lines-receiver.ts';
import { ContractChecker, loadOpenApi } from '../helpers/openapi.ts';
import { TEST_LABEL, docker, ensureTestImage, requireDocker, startPrivateDockerd } from '../helpers/docker-engine.ts';
import type { PrivateDockerd } from '../helpers/docker-engine.ts';
import { createExpiredCa, createPki } from '../helpers/pki.ts';
import type { Pki } from '../helpers/pki.ts';
import { freePort } from '../helpers/ports.ts';
import { missing, requireCommands } from '../helpers/requirements.ts';
import { waitFor } from '../helpers/wait.ts';

const run = promisify(execFile);

interface Finding { check: string; cis: string | null; severity: string; target: string; detail: string; firstSeen: string; containerName?: string }
interface AuditDoc { findings: Finding[]; notChecked: { check: string; target: string; reason: string }[]; certificates: { path: string; notAfter: string }[]; lastSweep: unknown }

void describe('host security audit on a real dockerd', () => {
  let daemon: PrivateDockerd | undefined;
  let pki: Pki | undefined;
  let agent: Agent | undefined;
  let url = '';
  let dir = '';
  let image = '';
  let tcp = '';
  const servers: Server[] = [];
  let badCaRegistry = '';
  let goodRegistry = '';
  let expiredCaPath = '';
  let configFile = '';
  let baseConfig: string[] = [];
  /** Logstash's tcp input over mutual TLS: the agent's output certificates are real and in use. */
  let logstash: JsonLinesReceiver | undefined;

  const get = async <T>(path: string): Promise<T> => {
    const res = await fetch(`${url}${path}`);
    return (path === '/metrics' ? await res.text() : await res.json()) as T;
  };
  const audit = (): Promise<AuditDoc> => get<AuditDoc>('/v1/audit');
  const findingsOf = async (name: string): Promise<Finding[]> => (await audit()).findings.filter((f) => f.containerName === name);

  /** A TLS server on loopback answering `GET /v2/` with 401, as a registry does without a login. */
  async function fakeRegistry(cert: Buffer, key: Buffer): Promise<string> {
    const server = createServer({ cert, key }, (s) => {
      s.on('data', () => s.end('HTTP/1.1 401 Unauthorized\r\nDocker-Distribution-Api-Version: registry/2.0\r\nContent-Length: 0\r\n\r\n'));
      s.on('error', () => undefined);
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    servers.push(server);
    return `127.0.0.1:${(server.address() as AddressInfo).port}`;
  }

  before(async () => {
    if (!(await requireDocker(undefined))) return;
    dir = await mkdtemp(join(tmpdir(), 'dockhand-audit-'));
    pki = await createPki({ cas: ['ca', 'other-ca'], leaves: [['registry', 'ca', 'server'], ['agent', 'ca', 'client']] });
    expiredCaPath = await createExpiredCa(pki.dir, 'expired-ca');
    badCaRegistry = await fakeRegistry(pki.pem('registry.crt'), pki.pem('registry.key'));
    goodRegistry = await fakeRegistry(pki.pem('registry.crt'), pki.pem('registry.key'));
    const certsD = join(dir, 'certs.d');
    const expiredRegistry = `127.0.0.1:${await freePort()}`;
    for (const [name, ca] of [[badCaRegistry, pki.path('other-ca.crt')], [goodRegistry, pki.path('ca.crt')], [expiredRegistry, expiredCaPath]] as const) {
      await mkdir(join(certsD, name), { recursive: true });
      await writeFile(join(certsD, name, 'ca.crt'), await readFile(ca));
    }
    tcp = `tcp://127.0.0.1:${await freePort()}`;
    // a TCP socket without --tlsverify, on loopback only
    daemon = await startPrivateDockerd({ name: 'audit', extraArgs: ['-H', tcp] });
    image = await ensureTestImage(daemon.host);
    await mkdir(join(dir, 'logs'));
    logstash = await JsonLinesReceiver.start({ tls: { cert: pki.pem('registry.crt'), key: pki.pem('registry.key'), ca: pki.pem('ca.crt'), requireClientCert: true } });
    configFile = join(dir, 'dockhand.yaml');
    baseConfig = [
      `state_dir: ${dir}/state`,
      `docker: { host: "${daemon.host}" }`,
      `api: { listen: "127.0.0.1:${await freePort()}" }`,
      `logs: { roots: ["${dir}/logs"] }`,
      `outputs: [{ type: tcp, hosts: ["${logstash.address}"], tls: { ca: "${pki.path('ca.crt')}", cert: "${pki.path('agent.crt')}", key: "${pki.path('agent.key')}" } }]`,
    ];
    await writeFile(configFile, [...baseConfig, `audit: { certs_dir: "${certsD}", registry_timeout: 3s, metric_containers: [hostn*] }`].join('\n'));
    agent = new Agent({ loaded: loadConfig({ file: configFile, env: {} }), logger: pino({ level: 'silent' }), version: 'test' });
    url = (await agent.start()).apiUrl;
    await waitFor('first audit sweep', async () => (await audit()).lastSweep, 30_000, 200);
  });

  after(async () => {
    await agent?.stop();
    await daemon?.cleanup();
    await pki?.cleanup();
    await logstash?.close();
    for (const s of servers) s.close();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  void it('the daemon: TCP without TLS verification, and the defaults a stock daemon leaves open', async (t) => {
    if (!agent) return t.skip('no docker');
    const daemonFindings = (await audit()).findings.filter((f) => f.target === 'daemon');
    const tcpFinding = daemonFindings.find((f) => f.check === 'daemon.tcp_without_tls');
    assert.ok(tcpFinding, JSON.stringify(daemonFindings));
    assert.equal(tcpFinding.cis, '2.7');
    assert.equal(tcpFinding.severity, 'critical');
    assert.ok(tcpFinding.detail.includes(tcp), tcpFinding.detail);
    // its daemon.json is `{}` (read, through --config-file on its command line): these are decided, not skipped
    for (const c of ['daemon.no_live_restore', 'daemon.no_new_privileges', 'daemon.no_default_ulimits', 'daemon.log_unbounded']) {
      assert.ok(daemonFindings.some((f) => f.check === c), `${c} missing`);
    }
    assert.ok(!daemonFindings.some((f) => f.check === 'daemon.icc'), 'started with --bridge=none: no default bridge');
  });

  void it('certificates and registries: an expired CA in certs.d, a CA that did not sign the registry, the agent\'s own certificates in the expiry metric', async (t) => {
    if (!agent || !pki) return t.skip('no docker');
    const doc = await audit();
    const expired = doc.findings.find((f) => f.check === 'cert.expiring' && f.target.endsWith('/ca.crt') && f.detail.includes('expired'));
    assert.ok(expired, JSON.stringify(doc.findings.filter((f) => f.check.startsWith('cert.'))));
    assert.match(expired.detail, /expired 2020-02-01T00:00:00\.000Z/);
    const tls = doc.findings.filter((f) => f.check === 'registry.tls');
    assert.deepEqual(tls.map((f) => f.target), [`registry:${badCaRegistry}`], 'only the registry whose CA did not sign its chain');
    assert.match(tls[0]?.detail ?? '', /x509: UNABLE_TO_VERIFY_LEAF_SIGNATURE/);
    // the pki's certificates are valid for two days: under 30, so a finding each
    assert.ok(doc.findings.some((f) => f.check === 'cert.expiring' && f.target === pki?.path('agent.crt') && /in [01] days?/.test(f.detail)));

    const metrics = await get<string>('/metrics');
    const { stdout } = await run('openssl', ['x509', '-in', pki.path('agent.crt'), '-noout', '-enddate']);
    const expected = Date.parse(stdout.trim().replace('notAfter=', '')) / 1000;
    const line = metrics.split('\n').find((l) => l.startsWith('dockhand_tls_certificate_expiry_timestamp_seconds{') && l.includes(`path="${pki?.path('agent.crt')}"`));
    assert.ok(line, 'expiry series of the output client certificate');
    assert.match(line, /subject="CN=agent"/);
    assert.equal(Number(line.split(' ').at(-1)), expected);
  });

  void it('containers: findings within seconds of docker run, in /v1/containers/:ref, the metric and the events; cleared on docker rm', { timeout: 120_000 }, async (t) => {
    if (!agent || !daemon) return t.skip('no docker');
    // This sandbox refuses some flags at start ("unable to apply caps: operation not permitted" for
    // --privileged): such a container is created, not started — the audit checks created
    // containers from the same inspect document, and the test says which ones were.
    const runC = async (name: string, args: string[]): Promise<void> => {
      const create = ['--name', name, '--label', TEST_LABEL, '--stop-timeout', '1', ...args, image, 'sleep', '300'];
      const res = await docker(daemon?.host ?? '', ['run', '-d', ...create], { allowFail: true });
      if (res.code === 0) return;
      assert.match(res.stderr, /operation not permitted/, res.stderr);
      await docker(daemon?.host ?? '', ['rm', '-f', name], { allowFail: true });
      await docker(daemon?.host ?? '', ['create', ...create]);
      t.diagnostic(`${name} (${args.join(' ')}) could not start here: created only`);
    };
    await runC('priv', ['--privileged', '--network', 'none']);
    await runC('hostns', ['--network', 'host', '--pid', 'host']);
    await runC('sock', ['--network', 'none', '-v', `${daemon.socketPath}:/var/run/docker.sock`, '--cap-add', 'SYS_ADMIN', '--security-opt', 'seccomp=unconfined', '--user', '0']);
    await runC('hardened', ['--network', 'none', '--read-only', '--memory', '64m', '--pids-limit', '64', '--cpu-shares', '512', '--user', '1000', '--cap-drop', 'ALL', '--health-cmd', 'true']);

    const expect: Record<string, string[]> = {
      priv: ['container.privileged', 'container.root_user', 'container.no_memory_limit', 'container.no_pids_limit', 'container.writable_rootfs'],
      hostns: ['container.host_network', 'container.host_pid'],
      sock: ['container.docker_socket', 'container.dangerous_capabilities', 'container.seccomp_unconfined', 'container.root_user'],
    };
    for (const [name, checks] of Object.entries(expect)) {
      await waitFor(`${name}: ${checks.join(', ')}`, async () => {
        const found = new Set((await findingsOf(name)).map((f) => f.check));
        return checks.every((c) => found.has(c));
      }, 15_000, 200);
    }
    await waitFor('hardened checked', async () => (await get<{ audit: Finding[] | null }>('/v1/containers/hardened')).audit?.length);
    assert.deepEqual((await findingsOf('hardened')).map((f) => f.check), ['container.image_unpinned'], 'no findings but the unpinned test image');

    // the populated answers against the OpenAPI document (additionalProperties false)
    const contract = new ContractChecker(loadOpenApi());
    for (const path of ['/v1/audit', '/v1/audit?severity=critical', '/v1/containers/priv', '/v1/containers', '/v1/zabbix/audit', '/v1/zabbix/audit/checks', '/v1/zabbix/audit/certificates']) {
      const res = await fetch(`${url}${path}`);
      contract.check('GET', path, { status: res.status, contentType: res.headers.get('content-type'), body: await res.text() });
    }
    const details = await get<{ audit: Finding[] }>('/v1/containers/priv');
    assert.ok(details.audit.some((f) => f.check === 'container.privileged' && f.cis === '5.4'));
    const metrics = await get<string>('/metrics');
    assert.match(metrics, /^dockhand_audit_findings\{check="container\.privileged",severity="critical"\} 1$/m);
    assert.match(metrics, /^dockhand_audit_findings\{check="container\.docker_socket",severity="critical"\} 1$/m);
    assert.doesNotMatch(metrics, /dockhand_audit_findings\{[^}]*(priv|hostns|sock|hardened)"/, 'no container names in the labels');
    // per-container series only for the allow-listed names (audit.metric_containers: [hostn*])
    assert.match(metrics, /^dockhand_audit_container_findings\{name="hostns",check="container\.host_network",severity="high"\} 1$/m);
    const lint = spawnSync('promtool', ['check', 'metrics'], { input: metrics, encoding: 'utf8' });
    if (lint.error) missing(t, `promtool is not installed: ${lint.error.message}`);
    else assert.equal(lint.status, 0, `promtool check metrics:\n${lint.stdout}${lint.stderr}`);
    assert.deepEqual([...new Set([...metrics.matchAll(/^dockhand_audit_container_findings\{name="([^"]+)"/gm)].map((m) => m[1]))], ['hostns']);

    const auditEvents = async (): Promise<AgentEvent[]> => (await get<{ events: RecordedEvent[] }>('/v1/events?limit=5000')).events.filter((e): e is AgentEvent => e.kind === 'agent' && e.action.startsWith('audit.'));
    const about = (e: AgentEvent, check: string, target: string): boolean => e.details?.check === check && e.details.target === target;
    assert.ok((await auditEvents()).some((e) => e.action === 'audit.finding' && about(e, 'container.privileged', 'container:priv')));

    await docker(daemon.host, ['rm', '-f', 'priv']);
    await waitFor('priv\'s findings cleared', async () => (await findingsOf('priv')).length === 0, 15_000, 200);
    await waitFor('cleared event', async () => (await auditEvents()).some((e) => e.action === 'audit.cleared' && about(e, 'container.privileged', 'container:priv')));
    assert.match(await get<string>('/metrics'), /^dockhand_audit_findings\{check="container\.privileged",severity="critical"\} 0$/m);

    // shipped to Logstash like the other agent events (event.dataset dockhand.agent)
    const shipped = (action: string): boolean => (logstash?.lines ?? []).some((l) => {
      const e = l as { event?: { dataset?: string; action?: string }; dockhand?: { details?: { check?: string; target?: string } } };
      return e.event?.dataset === 'dockhand.agent' && e.event.action === action && e.dockhand?.details?.check === 'container.privileged' && e.dockhand.details.target === 'container:priv';
    });
    await waitFor('audit.finding and audit.cleared at Logstash', () => shipped('audit.finding') && shipped('audit.cleared'));
  });

  void it('audit.exclude on reload: a check, a container; the findings go at once', async (t) => {
    if (!agent) return t.skip('no docker');
    await waitFor('sock checked', async () => (await findingsOf('sock')).length > 0);
    await writeFile(configFile, [...baseConfig, `audit: { certs_dir: "${dir}/certs.d", registry_timeout: 3s, metric_containers: [hostn*], exclude: ["container.root_user", "container:sock"] }`].join('\n'));
    const report = await agent.reload(loadConfig({ file: configFile, env: {} }));
    assert.deepEqual(report.pendingRestart, []);
    const doc = await audit();
    assert.deepEqual(doc.findings.filter((f) => f.check === 'container.root_user'), []);
    assert.deepEqual(doc.findings.filter((f) => f.containerName === 'sock'), []);
    assert.ok(doc.findings.some((f) => f.containerName === 'hostns'), 'other containers keep theirs');
    assert.doesNotMatch(await get<string>('/metrics'), /check="container\.root_user"/, 'an excluded check has no series');
  });

  void it('audit.enabled off on reload drops every finding and series; on again, a sweep at once brings them back', async (t) => {
    if (!agent) return t.skip('no docker');
    const write = (extra: string): Promise<void> => writeFile(configFile, [...baseConfig, `audit: { certs_dir: "${dir}/certs.d", registry_timeout: 3s, metric_containers: [hostn*]${extra} }`].join('\n'));
    await write(', enabled: false');
    await agent.reload(loadConfig({ file: configFile, env: {} }));
    const off = await audit();
    assert.deepEqual([off.findings.length, off.certificates.length, off.lastSweep], [0, 0, null]);
    assert.equal((await get<{ audit: unknown }>('/v1/containers/hostns')).audit, null);
    assert.doesNotMatch(await get<string>('/metrics'), /^dockhand_audit_findings\{/m);
    await write('');
    await agent.reload(loadConfig({ file: configFile, env: {} }));
    await waitFor('findings back', async () => {
      const doc = await audit();
      return doc.findings.some((f) => f.check === 'daemon.tcp_without_tls') && doc.findings.some((f) => f.containerName === 'hostns');
    }, 15_000, 200);
  });

  void it('run as an unprivileged user, root-only inputs are "not checked: permission", never a pass', { timeout: 60_000 }, async (t) => {
    if (!daemon) return t.skip('no docker');
    if (!requireCommands(t, [['setpriv', 'util-linux']])) return;
    const home = await mkdtemp(join(tmpdir(), 'dockhand-audit-nobody-'));
    t.after(() => rm(home, { recursive: true, force: true }));
    const rootOnly = join(home, 'root-only');
    await mkdir(join(rootOnly, 'certs.d', 'reg.local'), { recursive: true });
    await chmod(rootOnly, 0o700);
    await chmod(home, 0o755);
    await mkdir(join(home, 'state'));
    await mkdir(join(home, 'logs'));
    await chown(join(home, 'state'), 65534, 65534);
    const port = await freePort();
    const config = join(home, 'dockhand.yaml');
    await writeFile(config, [
      `state_dir: ${home}/state`,
      `docker: { host: "${daemon.host}" }`,
      `api: { listen: "127.0.0.1:${port}" }`,
      `logs: { roots: ["${home}/logs"] }`,
      `outputs: [{ type: tcp, hosts: ["127.0.0.1:${await freePort()}"] }]`,
      `audit: { certs_dir: "${rootOnly}/certs.d" }`,
    ].join('\n'));
    await chmod(config, 0o644);
    const nobody = new AgentProcess(['run', '--config', config], cleanEnv(), undefined, ['setpriv', '--reuid=65534', '--regid=65534', '--clear-groups']);
    t.after(() => nobody.dispose());
    const doc = await waitFor('an audit sweep as nobody', async () => {
      const res = await fetch(`http://127.0.0.1:${port}/v1/audit`).catch(() => undefined);
      const body = res?.ok ? ((await res.json()) as AuditDoc) : undefined;
      return body?.lastSweep ? body : undefined;
    }, 40_000, 250);
    const reasons = new Map(doc.notChecked.map((n) => [`${n.check} ${n.target}`, n.reason]));
    // the private daemon's dir is 0700 root: its daemon.json (named by --config-file) and its socket
    assert.match(reasons.get('daemon.no_new_privileges daemon') ?? '', /^permission: daemon\.json /, JSON.stringify(doc.notChecked));
    assert.equal(reasons.get(`files.docker_socket ${daemon.socketPath}`), 'permission');
    assert.equal(reasons.get(`cert.expiring ${rootOnly}/certs.d`), 'permission');
    // the command line is world-readable: the TCP listener is still seen
    assert.ok(doc.findings.some((f) => f.check === 'daemon.tcp_without_tls'));
    for (const c of ['daemon.no_new_privileges', 'daemon.no_default_ulimits', 'files.docker_socket']) {
      assert.ok(!doc.findings.some((f) => f.check === c), `${c} must not be decided without its input`);
    }
  });
});
