// The container image, built and run: the Dockerfile builds from the release tarball on a
// Debian 12 minbase image made here (no registry is reachable), and the container started with
// the run line of docs/operations.md — host network, read-only root, no capabilities, the Docker
// socket, the log directory, the state directory — turns healthy, lists the engine's containers,
// ships a line written into the log directory, and stops gracefully on `docker stop` with its
// offsets saved.
import assert from 'node:assert/strict';
import { chmodSync, chownSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, test } from 'node:test';
import type { TestContext } from 'node:test';
import { BeatsReceiver } from '../helpers/beats-receiver.ts';
import { HOST_DOCKHAND_ID, buildImage, runLine } from '../helpers/container-image.ts';
import { ensureDebianImage } from '../helpers/debian-images.ts';
import { TEST_IMAGE, TEST_LABEL, docker, ensureTestImage, removeAllContainers, resolveTestDockerHost } from '../helpers/docker-engine.ts';
import { logFileName } from '../helpers/log-files.ts';
import { logMessages } from '../helpers/logs-agent.ts';
import { freePort } from '../helpers/ports.ts';
import { ensureReleases } from '../helpers/release.ts';
import type { Release } from '../helpers/release.ts';
import { missing, requireCommands } from '../helpers/requirements.ts';
import { waitFor } from '../helpers/wait.ts';

const TOOLS: [string, string][] = [['mmdebstrap', 'mmdebstrap'], ['strip', 'binutils'], ['dpkg-shlibdeps', 'dpkg-dev']];
const work = mkdtempSync(path.join(tmpdir(), 'dockhand-image-test-'));
after(() => rmSync(work, { recursive: true, force: true }));

interface Built { engine: string; image: string; base: string; release: Release }
let built: Built | undefined;

before(async () => {
  const engine = await resolveTestDockerHost();
  if (!engine || !requireCommands(undefined, TOOLS)) return;
  const [releases, base] = await Promise.all([ensureReleases(), ensureDebianImage(engine, 'minbase'), ensureTestImage(engine)]);
  built = { engine, base, release: releases.current, image: await buildImage(engine, base, releases.current, work) };
}, { timeout: 600_000 });
after(async () => {
  if (built) await removeAllContainers(built.engine);
});

function ready(t: TestContext): Built | undefined {
  if (built) return built;
  if (requireCommands(t, TOOLS)) missing(t, 'no Docker engine: DOCKHAND_TEST_DOCKER_HOST is unset (run through `npm test` or scripts/test.ts)');
  return undefined;
}

void test('the image builds from the release tarball on a Debian 12 minbase image', async (t) => {
  const b = ready(t);
  if (!b) return;
  const size = async (image: string): Promise<number> => Number((await docker(b.engine, ['image', 'inspect', '--format', '{{.Size}}', image])).stdout.trim());
  const [total, base] = [await size(b.image), await size(b.base)];
  t.diagnostic(`image ${(total / 1e6).toFixed(1)} MB: base ${(base / 1e6).toFixed(1)} MB + dockhand ${((total - base) / 1e6).toFixed(1)} MB`);
  const inspect = JSON.parse((await docker(b.engine, ['image', 'inspect', b.image])).stdout) as [{ Config: { User: string; Entrypoint: string[]; Labels: Record<string, string> } }];
  assert.equal(inspect[0].Config.User, 'dockhand');
  assert.deepEqual(inspect[0].Config.Entrypoint, ['/usr/bin/dockhand']);
  assert.equal(inspect[0].Config.Labels['org.opencontainers.image.version'], b.release.version);
  const version = await docker(b.engine, ['run', '--rm', '--network', 'none', '--label', TEST_LABEL, b.image, 'version']);
  assert.equal(version.stdout, `dockhand ${b.release.version}\n`);
});

void test('the documented run line: healthy, lists the containers, ships a log line, stops gracefully with offsets saved', async (t) => {
  const b = ready(t);
  if (!b) return;
  if (!b.engine.startsWith('unix://')) return void missing(t, `the engine ${b.engine} is not a unix socket to mount into the container`);
  const socket = b.engine.slice('unix://'.length);
  const receiver = await BeatsReceiver.start();
  t.after(() => receiver.close());
  const port = await freePort();
  const dirs = Object.fromEntries(['logs', 'state', 'etc'].map((d) => [d, path.join(work, d)])) as Record<'logs' | 'state' | 'etc', string>;
  for (const d of Object.values(dirs)) mkdirSync(d, { recursive: true });
  chmodSync(work, 0o755);
  chownSync(dirs.state, HOST_DOCKHAND_ID, HOST_DOCKHAND_ID);
  writeFileSync(path.join(dirs.etc, 'dockhand.yaml'), `api: { listen: "127.0.0.1:${port}" }\nlogs: { rescan_interval: 1s }\noutputs: [{ type: beats, hosts: ["${receiver.address}"], backoff_base: 100ms, backoff_max: 1s }]\n`);

  const other = `dockhand-test-listed-${process.pid}`;
  await docker(b.engine, ['run', '-d', '--init', '--network', 'none', '--label', TEST_LABEL, '--name', other, TEST_IMAGE, 'sleep', '600']);
  const name = `dockhand-test-image-${process.pid}`;
  const started = Date.now();
  await docker(b.engine, runLine({
    name, image: b.image, socket, socketGid: statSync(socket).gid, ...dirs,
    env: [`HEALTHCHECK_URL=http://127.0.0.1:${port}/healthz`],
  }));
  const api = async <T>(p: string): Promise<{ status: number; body: T }> => {
    const res = await fetch(`http://127.0.0.1:${port}${p}`);
    return { status: res.status, body: (await res.json()) as T };
  };
  await waitFor('/readyz 200 from the container', async () => (await api('/readyz')).status === 200, 60_000, 100);
  t.diagnostic(`docker run to /readyz 200: ${Date.now() - started} ms`);

  const names = (await api<{ containers: { name: string }[] }>('/v1/containers')).body.containers.map((c) => c.name);
  assert.ok(names.includes(other) && names.includes(name), `listed: ${names.join(', ')}`);

  const file = path.join(dirs.logs, logFileName({ logType: 'app', app: 'imagetest', env: 'dev', imageTag: '1', hostname: 'host', date: '20261201' }));
  writeFileSync(file, 'a line written on the host\n');
  chmodSync(file, 0o644);
  await waitFor('the line at the receiver', () => logMessages(receiver.events).includes('a line written on the host'), 30_000);

  // the image's own HEALTHCHECK (first run after its 30 s interval)
  await waitFor('the container to turn healthy', async () => (await docker(b.engine, ['inspect', '--format', '{{.State.Health.Status}}', name])).stdout.trim() === 'healthy', 120_000, 500);

  await docker(b.engine, ['stop', name], { timeoutMs: 60_000 });
  const state = JSON.parse((await docker(b.engine, ['inspect', '--format', '{{json .State}}', name])).stdout) as { ExitCode: number; OOMKilled: boolean };
  assert.equal(state.ExitCode, 0, 'a graceful stop');
  const logs = await docker(b.engine, ['logs', name]);
  assert.match(logs.stdout, /"signal":"SIGTERM","msg":"signal received, stopping"/);
  assert.match(logs.stdout, /"msg":"stopped"/);
  const offsets = JSON.parse(readFileSync(path.join(dirs.state, 'log-offsets.json'), 'utf8')) as { files: { path: string; offset: number }[] };
  assert.deepEqual(offsets.files.map((f) => [f.path, f.offset]), [['/data/application/logs/' + path.basename(file), statSync(file).size]]);
});
