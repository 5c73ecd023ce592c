/**
 * Where the API listens is decided on the address it bound, not on the name it was given: a
 * name (`localhost`) can resolve anywhere /etc/hosts says. The off-loopback case uses a private
 * mount namespace whose /etc/hosts maps localhost to 0.0.0.0 (root and unshare(1) needed), so
 * neither the host's /etc/hosts nor any resolver is touched.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { pino } from 'pino';
import { ApiServer } from '../../src/api/server.ts';
import type { ApiOptions } from '../../src/api/server.ts';
import type { AgentView } from '../../src/api/view.ts';
import { DockhandError } from '../../src/core/errors.ts';
import { cleanEnv, runCli } from '../helpers/agent-process.ts';
import { freePort } from '../helpers/ports.ts';

const dir = mkdtempSync(join(tmpdir(), 'dockhand-api-listen-'));
const servers: ApiServer[] = [];
after(() => {
  for (const server of servers) server.destroy();
  rmSync(dir, { recursive: true, force: true });
});

const VIEW: AgentView = {
  readiness: () => ({ ready: true, checks: [] }),
  host: () => Promise.resolve({}),
  containers: () => [],
  container: () => undefined,
  events: () => [],
  metrics: () => Promise.resolve({ contentType: 'text/plain; version=0.0.4; charset=utf-8', body: '' }),
};

function create(listen: ApiOptions['listen']): { server: ApiServer; logs: Array<Record<string, unknown>> } {
  const logs: Array<Record<string, unknown>> = [];
  const logger = pino({ level: 'info' }, { write: (line: string) => void logs.push(JSON.parse(line) as Record<string, unknown>) });
  const server = new ApiServer({ options: { listen, token_file: null, tls: null, metrics_auth: true }, view: VIEW, logger });
  servers.push(server);
  return { server, logs };
}

/** Resolves once `port` on `host` can be bound again, i.e. nothing is left listening there. */
async function canBind(host: string, port: number): Promise<boolean> {
  const probe = createServer();
  return new Promise((resolve) => {
    probe.once('error', () => resolve(false));
    probe.listen({ host, port }, () => probe.close(() => resolve(true)));
  });
}

/** root, and unshare(1) can make a private mount namespace with its own /etc/hosts. */
function privateHostsFile(): string | undefined {
  if (process.getuid?.() !== 0) return 'needs root (a private mount namespace)';
  const r = spawnSync('unshare', ['-m', '--propagation', 'private', 'true'], { stdio: 'ignore' });
  return r.status === 0 ? undefined : 'unshare -m is not available here';
}

void describe('the address the API binds', () => {
  void it('reports and logs the address bound, not the name configured', async () => {
    const { server, logs } = create({ host: 'localhost', port: 0 });
    const address = await server.start();
    assert.ok(address.host === '127.0.0.1' || address.host === '::1', `bound ${address.host}`);
    const hostPort = address.host === '::1' ? `[::1]:${address.port}` : `127.0.0.1:${address.port}`;
    assert.equal(address.url, `http://${hostPort}`);
    assert.equal(logs.find((l) => l['msg'] === 'api listening')?.['url'], address.url);
    await server.close();
  });

  for (const host of ['0.0.0.0', '::']) {
    void it(`refuses to serve on ${host} with no token and no mTLS, and closes what it bound`, async () => {
      const port = await freePort();
      await assert.rejects(create({ host, port }).server.start(), (err: unknown) =>
        err instanceof DockhandError && err.code === 'CONFIG_INVALID' && /^api\.listen: /.test(err.message) && err.message.includes('not a loopback address'));
      assert.equal(await canBind(host, port), true, 'the refused listener is still bound');
    });
  }

  void it('the agent exits 78 when localhost resolves to 0.0.0.0 and no token or mTLS is set', { skip: privateHostsFile(), timeout: 60_000 }, async () => {
    const hosts = join(dir, 'hosts');
    writeFileSync(hosts, '0.0.0.0 localhost\n');
    const port = await freePort();
    // sh's $0 is the hosts file; "$@" is the agent command runCli appends.
    const prefix = ['unshare', '-m', '--propagation', 'private', 'sh', '-c', 'mount --bind "$0" /etc/hosts && exec "$@"', hosts];
    const env = cleanEnv({ DOCKHAND_API__LISTEN: `localhost:${port}`, DOCKHAND_DOCKER__HOST: `unix://${dir}/no-docker.sock`, DOCKHAND_STATE_DIR: `${dir}/state` });
    const r = await runCli(['run'], env, 15_000, prefix);
    assert.equal(r.code, 78, `exit ${r.code} ${r.signal ?? ''}\n${r.stdout}\n${r.stderr}`);
    assert.match(r.stdout, /start failed/);
    assert.match(r.stdout, new RegExp(`api\\.listen: localhost:${port} is bound to 0\\.0\\.0\\.0:${port}, which is not a loopback address`));
    assert.doesNotMatch(r.stdout, /api listening/);
  });
});
