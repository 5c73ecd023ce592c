// The stubs that replace dockerode's ssh2 and gRPC dependencies (stubs/README.md) must stay
// unused: every Docker API call the agent makes, against the real engine, with the client the
// agent builds — and not one call into a stub. A dockerode upgrade that starts using them fails
// here, not on a host.
import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import { dirname } from 'node:path';
import { describe, it } from 'node:test';
import { createDockerClient, dockerInfo, dockerVersion } from '../../src/docker/client.ts';
import { fetchOneShotStats } from '../../src/metrics/stats-api.ts';
import { TEST_LABEL, docker, ensureTestImage, removeAllContainers, requireDocker } from '../helpers/docker-engine.ts';

const stubCalls = (): string[] => ((globalThis as Record<symbol, string[] | undefined>)[Symbol.for('dockhand.stub.calls')] ?? []);

void describe('dockerode stubs', () => {
  void it('resolve to the repository stubs (the overrides still apply)', () => {
    const fromModem = createRequire(createRequire(import.meta.url).resolve('docker-modem'));
    const fromDockerode = createRequire(createRequire(import.meta.url).resolve('dockerode'));
    for (const [req, name] of [[fromModem, 'ssh2'], [fromDockerode, '@grpc/grpc-js'], [fromDockerode, '@grpc/proto-loader']] as const) {
      const pkg = req(`${name}/package.json`) as { version: string };
      assert.match(pkg.version, /dockhand-stub/, `${name} from ${dirname(req.resolve(name))} is not the stub`);
    }
  });

  void it('every Docker call the agent makes leaves them untouched', { timeout: 60_000 }, async (t) => {
    const host = await requireDocker(t);
    if (!host) return;
    const image = await ensureTestImage(host);
    t.after(() => removeAllContainers(host));
    const id = (await docker(host, ['run', '-d', '--label', TEST_LABEL, '--network', 'none', image, 'sleep', '300'])).stdout.trim();
    const client = createDockerClient({ host, tls: null, allow_insecure: false, timeout: 10_000, reconnect_base: 500, reconnect_max: 30_000, resync_interval: 0, events_buffer: 100 });
    const signal = AbortSignal.timeout(30_000);
    await client.ping();
    await dockerVersion(client, signal);
    await dockerInfo(client, signal);
    const listed = await client.listContainers({ all: true });
    assert.ok(listed.some((c) => c.Id === id));
    const events = (await client.getEvents({ filters: JSON.stringify({ type: ['container'] }) })) as NodeJS.ReadableStream & { destroy(): void };
    await client.getContainer(id).inspect();
    assert.notEqual(await fetchOneShotStats(client, id, 10_000), 'gone');
    await client.getContainer(id).restart({ t: 1 });
    await client.getContainer(id).kill();
    await client.getContainer(id).start();
    events.destroy();
    assert.deepEqual(stubCalls(), []);
  });
});
