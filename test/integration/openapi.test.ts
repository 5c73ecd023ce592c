/**
 * src/api/openapi.json against the built agent's real answers (test/helpers/openapi.ts validates
 * each with Ajv): every documented operation, GET and HEAD, with its errors — 400 for bad
 * parameters and malformed targets, 401 without credentials, 404, 405, 406 for an Accept the
 * operation cannot satisfy, 503 where the agent is not ready — on two agents: one with Docker,
 * containers of every kind (running, probed and healthy, failing and restarted by policy, exited,
 * removed, with a HEALTHCHECK, with a bad probe label), shipped log files and an acknowledging
 * Logstash; one whose Docker never answers, served over HTTPS with mutual TLS and a token (the
 * document's third security alternative), where the nulls of an agent without Docker show.
 */
import assert from 'node:assert/strict';
import { request as httpRequest } from 'node:http';
import { request as httpsRequest } from 'node:https';
import type { IncomingMessage, RequestOptions } from 'node:http';
import { mkdtemp, mkdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { AgentProcess, cleanEnv } from '../helpers/agent-process.ts';
import { TEST_LABEL, docker, ensureTestImage, removeAllContainers, resolveTestDockerHost } from '../helpers/docker-engine.ts';
import { JsonLinesReceiver } from '../helpers/json-lines-receiver.ts';
import { ContractChecker } from '../helpers/openapi.ts';
import type { Answer } from '../helpers/openapi.ts';
import { createPki } from '../helpers/pki.ts';
import type { Pki } from '../helpers/pki.ts';
import { freePort } from '../helpers/ports.ts';
import { missing } from '../helpers/requirements.ts';
import { waitFor } from '../helpers/wait.ts';

const TOKEN = 'openapi-contract-token';
const P = `dh-oas-${process.pid}`;
const NAMES = { web: `${P}-web`, failing: `${P}-failing`, exited: `${P}-exited`, removed: `${P}-removed`, hc: `${P}-hc`, bad: `${P}-bad` };

interface Client { base: string; tls?: { ca: Buffer; cert: Buffer; key: Buffer } }

/** A raw request: any method, headers and body, the path sent exactly as given. */
function call(client: Client, method: string, path: string, headers: Record<string, string> = {}, body?: string): Promise<Answer & { headers: IncomingMessage['headers'] }> {
  const url = new URL(client.base);
  // node's client sends a GET body without Content-Length unless told: say it, as real clients do
  const sized = body === undefined ? headers : { ...headers, 'content-length': String(Buffer.byteLength(body)) };
  const options: RequestOptions & { ca?: Buffer; cert?: Buffer; key?: Buffer } = { host: url.hostname, port: url.port, method, path, headers: sized, ...(client.tls ?? {}) };
  return new Promise((resolve, reject) => {
    const req = (client.tls ? httpsRequest : httpRequest)(options, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (d: string) => (text += d));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, contentType: res.headers['content-type'] ?? null, body: text, headers: res.headers }));
    });
    req.on('error', reject);
    req.end(body);
  });
}

const auth = { authorization: `Bearer ${TOKEN}` };
let dir = '';
let pki: Pki | undefined;
const cleanups: (() => Promise<unknown>)[] = [];
let setup: { a: Client; b: Client; checker: ContractChecker } | undefined;
let skipped: string | undefined;

async function startAgent(name: string, config: string): Promise<AgentProcess> {
  const file = join(dir, `${name}.yaml`);
  await writeFile(file, config);
  const agent = new AgentProcess(['run', '--config', file], cleanEnv());
  cleanups.push(() => agent.dispose());
  await waitFor(`agent ${name} started`, () => agent.find('dockhand started') ?? agent.lines.find((l) => l.level === 'fatal'), 30_000);
  assert.equal(agent.find('dockhand started')?.msg, 'dockhand started', JSON.stringify(agent.lines.at(-1)));
  return agent;
}

void describe('the OpenAPI document against the agent\'s real answers', { timeout: 200_000 }, () => {
  before(async () => {
    const host = await resolveTestDockerHost();
    if (!host) {
      skipped = 'no Docker engine: DOCKHAND_TEST_DOCKER_HOST is unset (run through `npm test` or scripts/test.ts)';
      return;
    }
    const image = await ensureTestImage(host);
    dir = await mkdtemp(join(tmpdir(), 'dockhand-openapi-'));
    cleanups.push(() => rm(dir, { recursive: true, force: true }), () => removeAllContainers(host));
    await writeFile(join(dir, 'token'), `${TOKEN}\n`, { mode: 0o600 });
    await mkdir(join(dir, 'logs'));
    // a stack trace, so /v1/exceptions answers with a fingerprint (the line after it ends the event)
    await writeFile(join(dir, 'logs', 'weberror_aether_nor_8_778283_20150819.log'), 'one\ntwo\njava.lang.IllegalStateException: boom\n\tat com.example.A.b(A.java:1)\nthree\n');
    await writeFile(join(dir, 'logs', 'not-the-convention.log'), 'three\n');
    const receiver = await JsonLinesReceiver.start();
    cleanups.push(() => receiver.close());
    pki = await createPki({ cas: ['ca'], leaves: [['server', 'ca', 'server'], ['client', 'ca', 'client']] });
    cleanups.push(() => pki?.cleanup() ?? Promise.resolve());
    const [portA, portB, webPort, failingPort, exitedPort, deadPort] = await Promise.all([freePort(), freePort(), freePort(), freePort(), freePort(), freePort()]);

    const run = (args: string[]): Promise<unknown> => docker(host, ['run', '-d', '--label', TEST_LABEL, ...args]);
    const probe = (type: string, port: number): string[] => ['--label', `dockhand.probe.type=${type}`, '--label', `dockhand.probe.port=${port}`];
    await run(['--name', NAMES.web, '--network', 'host', '--init', '--label', 'com.example.team=core', ...probe('http', webPort), image, 'httpd', '-f', '-p', `127.0.0.1:${webPort}`, '-h', '/var/www']);
    await run(['--name', NAMES.failing, '--network', 'host', '--init', ...probe('tcp', failingPort), image, 'sleep', '3600']);
    await run(['--name', NAMES.exited, '--network', 'none', ...probe('tcp', exitedPort), image, 'sh', '-c', 'exit 3']);
    await run(['--name', NAMES.hc, '--network', 'none', '--init', '--health-cmd', 'true', '--health-interval', '1s', image, 'sleep', '3600']);
    await run(['--name', NAMES.bad, '--network', 'none', '--init', '--label', 'dockhand.probe.type=bogus', image, 'sleep', '3600']);

    await startAgent('a', `
state_dir: ${dir}/a
docker:
  host: ${host}
api:
  listen: 127.0.0.1:${portA}
  token_file: ${dir}/token
metrics:
  interval: 1s
  container_labels: [com.example.team]
logs:
  roots: [${dir}/logs]
outputs:
  - type: tcp
    hosts: [${receiver.address}]
health:
  defaults: { interval: 1s, timeout: 500ms, grace: 0s, unhealthy_threshold: 1 }
  rules:
    - match: { name: "${NAMES.failing}" }
      restart: { policy: on-unhealthy, max_restarts: 1, backoff_base: 100ms }
`);
    // removed while the agent watches: kept as "removed" within keep_stopped
    await docker(host, ['run', '--rm', '--name', NAMES.removed, '--label', TEST_LABEL, '--network', 'none', image, 'sleep', '2']);
    const a: Client = { base: `http://127.0.0.1:${portA}` };
    await waitFor('agent a: ready, every kind of container and probe seen', async () => {
      const ready = await call(a, 'GET', '/readyz', auth);
      const probes = JSON.parse((await call(a, 'GET', '/v1/probes', auth)).body) as { probes: { containerName: string; status: string; restart: { lastOutcome: unknown } | null }[] };
      const byName = new Map(probes.probes.map((p) => [p.containerName, p]));
      const zabbix = await call(a, 'GET', `/v1/zabbix/containers/${NAMES.removed}`, auth);
      const logs = JSON.parse((await call(a, 'GET', '/v1/logs', auth)).body) as { lastAckAt: string | null };
      const exceptions = JSON.parse((await call(a, 'GET', '/v1/exceptions', auth)).body) as { apps: unknown[] };
      return exceptions.apps.length === 1 && ready.status === 200 && byName.get(NAMES.web)?.status === 'healthy' && byName.get(NAMES.failing)?.restart?.lastOutcome && byName.get(NAMES.exited)?.status === 'stopped'
        && byName.get(NAMES.bad)?.status === 'error' && zabbix.status === 200 && logs.lastAckAt !== null;
    }, 60_000, 250);

    await startAgent('b', `
state_dir: ${dir}/b
docker:
  host: unix://${dir}/no-docker.sock
api:
  listen: 127.0.0.1:${portB}
  token_file: ${dir}/token
  tls: { cert: ${pki.path('server.crt')}, key: ${pki.path('server.key')}, client_ca: ${pki.path('ca.crt')} }
logs:
  roots: [${dir}/b-logs]
outputs:
  - type: tcp
    hosts: [127.0.0.1:${deadPort}]
`);
    const b: Client = { base: `https://127.0.0.1:${portB}`, tls: { ca: pki.pem('ca.crt'), cert: pki.pem('client.crt'), key: pki.pem('client.key') } };
    setup = { a, b, checker: new ContractChecker() };
  });

  after(async () => {
    for (const c of cleanups.reverse()) await c().catch(() => undefined);
  });

  /** Every operation's path made concrete, with the container reference of agent a. */
  const concrete = (template: string): string => template.replace('{ref}', NAMES.web);

  void it('every operation, GET and HEAD: the documented status, media type and body; 401 without credentials, 406 for an Accept it cannot satisfy', async (t) => {
    if (!setup) return missing(t, skipped ?? 'no set-up');
    const { a, b, checker } = setup;
    for (const [client, label] of [[a, 'a'], [b, 'b (no Docker, mutual TLS)']] as const) {
      for (const template of Object.keys(checker.doc.paths)) {
        const path = concrete(template);
        for (const method of ['GET', 'HEAD']) checker.check(method, path, await call(client, method, path, auth));
        if (template !== '/healthz') {
          const refused = await call(client, 'GET', path);
          assert.equal(refused.status, 401, `${label} ${path} without a token`);
          checker.check('GET', path, refused);
          assert.equal(refused.headers['www-authenticate'], 'Bearer realm="dockhand"');
        }
        const html = await call(client, 'GET', path, { ...auth, accept: 'text/html' });
        assert.equal(html.status, 406, `${label} ${path} with Accept: text/html`);
        checker.check('GET', path, html);
        const json = await call(client, 'GET', path, { ...auth, accept: 'application/json;q=0.5, text/plain;q=0.9' });
        checker.check('GET', path, json);
        assert.ok(json.status !== 406, `${label} ${path}: accepts what it answers with`);
      }
    }
    // each agent's telling answers
    assert.equal((await call(a, 'GET', '/readyz', auth)).status, 200);
    assert.equal((await call(b, 'GET', '/readyz', auth)).status, 503, 'b: Docker never answers');
    for (const path of ['/v1/zabbix/containers', '/v1/zabbix/probes']) assert.equal((await call(b, 'GET', path, auth)).status, 503, `b ${path}: the container list is not complete`);
    const served = JSON.parse((await call(a, 'GET', '/v1/openapi.json', auth)).body) as { info: { version: string } };
    assert.deepEqual({ ...served, info: { ...served.info, version: checker.doc.info.version } }, checker.doc, 'the document served is the one in the repository');
    t.diagnostic(`operations checked: ${checker.seen.size}`);
  });

  void it('the errors: bad parameters and targets 400, unknown 404, other methods 405 — all the documented JSON error', async (t) => {
    if (!setup) return missing(t, skipped ?? 'no set-up');
    const { a, checker } = setup;
    const long = 'x'.repeat(300);
    const cases: [string, string, number, Record<string, string>?, string?][] = [
      ['GET', '/v1/containers/no-such-container', 404],
      ['GET', `/v1/containers/${long}`, 400],
      ['GET', '/v1/containers/a%2Fb', 400],
      ['GET', '/v1/zabbix/containers/no-such-container', 404],
      ['GET', `/v1/zabbix/containers/${long}`, 400],
      ['GET', '/v1/events?since=yesterday', 400],
      ['GET', '/v1/events?limit=0', 400],
      ['GET', '/v1/events?since=1&since=2', 400],
      ['GET', '/v1/exceptions?since=yesterday', 400],
      ['GET', '/v1/exceptions?app=aether&since=1h&limit=1', 200],
      ['GET', '/v1/probes?status=bogus', 400],
      ['GET', '/v1/audit?severity=bogus', 400],
      ['GET', '/v1/host', 400, { 'content-type': 'application/json' }, '{}'],
      ['GET', '/v1/no-such-endpoint', 404],
      ['POST', '/v1/host', 405],
      ['DELETE', '/v1/containers/x', 405],
    ];
    for (const [method, path, status, headers, body] of cases) {
      const answer = await call(a, method, path, { ...auth, ...headers }, body);
      assert.equal(answer.status, status, `${method} ${path}: ${answer.body}`);
      checker.check(method, path, answer);
      if (status === 405) assert.equal(answer.headers.allow, 'GET, HEAD');
    }
    // with the right token the container doc answers for each kind of container
    for (const name of Object.values(NAMES)) {
      for (const template of ['/v1/containers/{ref}', '/v1/zabbix/containers/{ref}']) {
        const path = template.replace('{ref}', name);
        const answer = await call(a, 'GET', path, auth);
        if (name === NAMES.removed && template === '/v1/containers/{ref}') assert.equal(answer.status, 404, 'removed: only its lifecycle is kept');
        checker.check('GET', path, answer);
      }
    }
    // coverage: what each operation was seen answering
    for (const [template, item] of Object.entries(checker.doc.paths)) {
      const key = `GET ${template}`;
      const seen = checker.seen.get(key) ?? new Set<number>();
      const want = [200, 406, ...(item.get?.security?.length === 0 ? [] : [401]), ...(item.get?.parameters?.length ? [400] : []), ...(template.includes('{ref}') ? [404] : [])];
      for (const s of want) assert.ok(seen.has(s), `${key}: ${s} was not exercised (seen: ${[...seen].join(', ')})`);
    }
    t.diagnostic(`answers by operation: ${[...checker.seen].map(([k, s]) => `${k} ${[...s].sort().join('/')}`).join('; ')}`);
  });
});
