// The sampler over the recorded v1 tree (procfs too: /proc/<pid>/cgroup, net/dev, partitions),
// with a stand-in Docker client for the stats API fallback (a unit test: the real one is
// exercised in test/integration/metrics.test.ts).
import assert from 'node:assert/strict';
import { cpSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, test } from 'node:test';
import type Docker from 'dockerode';
import { pino } from 'pino';
import type { ContainerRecord } from '../../../src/docker/types.ts';
import { layoutFromRoot } from '../../../src/metrics/cgroup/layout.ts';
import type { CgroupLayout } from '../../../src/metrics/cgroup/layout.ts';
import { ContainerSampler, hasOwnNetwork } from '../../../src/metrics/container-sampler.ts';

const fixture = (name: string): string => fileURLToPath(new URL(`../../fixtures/cgroup/${name}`, import.meta.url));
const REC = '79384f07c6f2954dc5b1d22abf37ac2ce85d2875b59d1d71f7311112680e29ac';
const PID = 32052;
const statsV1 = JSON.parse(readFileSync(new URL('../../fixtures/docker-stats/v1-one-shot.json', import.meta.url), 'utf8')) as Record<string, unknown>;

const scratch = mkdtempSync(join(tmpdir(), 'dockhand-sampler-'));
after(() => rmSync(scratch, { recursive: true, force: true }));
// a procfs copy with one more process: pid 4242, a recycled pid now in some other cgroup
const procRoot = join(scratch, 'proc');
cpSync(fixture('v1-cgroupfs/proc'), procRoot, { recursive: true });
mkdirSync(join(procRoot, '4242'));
writeFileSync(join(procRoot, '4242', 'cgroup'), '4:memory:/user.slice/session-1.scope\n0::/user.slice/session-1.scope\n');

function record(over: Partial<ContainerRecord> = {}): ContainerRecord {
  return {
    id: REC, name: 'rec', image: 'dockhand-test/busybox:1', imageTag: '1', imageId: 'sha256:1', labels: {}, state: 'running', health: 'none',
    restartCount: 0, restartPolicy: 'no', restartPolicyMaxRetries: 0, exitCode: null, oomKilled: false, createdAt: null, startedAt: null,
    finishedAt: null, pid: PID, hostname: 'rec', networkMode: 'none', ips: {}, ports: [], cgroupPath: `/docker/${REC}`, updatedAt: 0, ...over,
  };
}

class FakeDocker {
  calls: string[] = [];
  reply: (id: string) => Promise<unknown> = () => Promise.resolve(statsV1);
  getContainer(id: string): { stats: (opts: Record<string, unknown>) => Promise<unknown> } {
    return {
      stats: (opts) => {
        this.calls.push(`${id} stream=${String(opts.stream)} one-shot=${String(opts['one-shot'])}`);
        return this.reply(id);
      },
    };
  }
}

function sampler(opts: { layout?: CgroupLayout; docker?: FakeDocker | null; exclude?: string[]; clock?: { now: number } } = {}): ContainerSampler {
  const clock = opts.clock ?? { now: 1_000_000 };
  return new ContainerSampler({
    layout: opts.layout ?? layoutFromRoot(fixture('v1-cgroupfs')),
    procRoot,
    excludeInterfaces: opts.exclude ?? [],
    docker: opts.docker === undefined ? null : (opts.docker as unknown as Docker | null),
    statsApiTimeoutMs: 1000,
    hostMemoryBytes: 24 * 2 ** 30,
    logger: pino({ level: 'silent' }),
    now: () => clock.now,
  });
}

test('a running container is read from its cgroup and its init process\'s net/dev; devices get names', async () => {
  const s = sampler();
  const r = await s.sweep([record()]);
  assert.deepEqual(r.sampled, { cgroup: 1, 'stats-api': 0 });
  assert.equal(r.vanished, 0);
  const latest = s.latest(REC);
  assert.equal(latest?.source, 'cgroup');
  assert.equal(latest?.cpu.usageSeconds, 7.166078597);
  assert.deepEqual(latest?.network?.map((n) => n.name), ['lo']);
  assert.equal(latest?.blockIo?.[0]?.device, '/dev/vda');
  assert.equal(s.rates(REC), undefined, 'rates need two samples');
});

test('excluded interfaces are left out; host-network containers have no network figures of their own', async () => {
  const s = sampler({ exclude: ['lo'] });
  await s.sweep([record()]);
  assert.deepEqual(s.latest(REC)?.network, []);
  const h = sampler();
  await h.sweep([record({ networkMode: 'host' })]);
  assert.equal(h.latest(REC)?.network, null);
  assert.equal(hasOwnNetwork('container:abc'), false);
  assert.equal(hasOwnNetwork('bridge'), true);
});

test('a container that vanished mid-sweep (no cgroup, no process) is skipped, not an error', async () => {
  const docker = new FakeDocker();
  const s = sampler({ docker });
  const gone = record({ id: 'f'.repeat(64), cgroupPath: `/docker/${'f'.repeat(64)}`, pid: 99999 });
  const r = await s.sweep([gone, record()]);
  assert.equal(r.vanished, 1);
  assert.equal(r.sampled.cgroup, 1);
  assert.equal(r.failed, 0);
  assert.equal(s.latest('f'.repeat(64)), undefined);
  assert.deepEqual(docker.calls, [], 'no stats API call for a container that is gone');
});

test('a stale cgroup path is re-resolved from /proc/<pid>/cgroup', async () => {
  const s = sampler();
  const r = await s.sweep([record({ cgroupPath: '/docker/stale' })]);
  assert.equal(r.sampled.cgroup, 1);
  assert.equal(s.latest(REC)?.memory.usageBytes, 20598784);
});

test('a recycled pid in another cgroup is not read as the container: the stats API is used instead', async () => {
  const docker = new FakeDocker();
  const s = sampler({ docker });
  const r = await s.sweep([record({ cgroupPath: '/docker/stale', pid: 4242 })]);
  assert.deepEqual(r.sampled, { cgroup: 0, 'stats-api': 1 });
  assert.equal(s.latest(REC)?.source, 'stats-api');
});

test('unreadable cgroups fall back to the stats API, one-shot, and rates come from the agent\'s own previous sample', async () => {
  const docker = new FakeDocker();
  const clock = { now: 1_000_000 };
  // the agent in a container that sees only its own cgroup: every other container is outside the mount
  const layout: CgroupLayout = { version: 1, controllers: { memory: { dir: fixture('v1-cgroupfs/memory'), root: '/docker/self' } }, description: '' };
  const s = sampler({ layout, docker, clock });
  let usage = 1_000_000_000;
  docker.reply = () => {
    usage += 500_000_000;
    return Promise.resolve({ ...statsV1, cpu_stats: { cpu_usage: { total_usage: usage } } });
  };
  await s.sweep([record()]);
  clock.now += 2000;
  const r = await s.sweep([record()]);
  assert.equal(r.sampled['stats-api'], 1);
  assert.deepEqual(docker.calls, [`${REC} stream=false one-shot=true`, `${REC} stream=false one-shot=true`]);
  assert.equal(s.rates(REC)?.cpuPercent, 25, '0.5 s of CPU in 2 s');
});

test('stats API answers: 404 = vanished, other failures = failed (counted), never thrown', async () => {
  const docker = new FakeDocker();
  const layout: CgroupLayout = { version: 'none', description: 'none' };
  const s = sampler({ layout, docker });
  docker.reply = (id) => Promise.reject(Object.assign(new Error(id.startsWith('a') ? 'no such container' : 'boom'), { statusCode: id.startsWith('a') ? 404 : 500 }));
  const r = await s.sweep([record({ id: 'a'.repeat(64) }), record({ id: 'b'.repeat(64) })]);
  assert.equal(r.vanished, 1);
  assert.equal(r.failed, 1);
  const noFallback = sampler({ layout, docker: null });
  assert.equal((await noFallback.sweep([record()])).failed, 1);
});

test('a restart (new pid) starts afresh: no rate across the old and new cgroup; stopped containers are forgotten', async () => {
  const clock = { now: 1_000_000 };
  const s = sampler({ clock });
  await s.sweep([record()]);
  clock.now += 1000;
  await s.sweep([record()]);
  assert.ok(s.rates(REC));
  clock.now += 1000;
  await s.sweep([record({ pid: PID })].map((r) => ({ ...r, pid: 4242, cgroupPath: `/docker/${REC}` })));
  assert.equal(s.rates(REC), undefined);
  await s.sweep([record({ state: 'exited', pid: 0 })]);
  assert.equal(s.latest(REC), undefined);
});

test('rates use a base at least a second old when there is one, so back-to-back scrapes do not make noise', async () => {
  const clock = { now: 1_000_000 };
  const s = sampler({ clock });
  for (const step of [0, 10, 10]) {
    clock.now += step;
    await s.sweep([record()]);
  }
  assert.equal(s.rates(REC)?.windowSeconds, 0.02, 'only younger samples: the oldest kept is the base');
  clock.now += 1200;
  await s.sweep([record()]);
  assert.equal(s.rates(REC)?.windowSeconds, 1.2, 'the newest sample at least 1 s older');
  clock.now += 5;
  await s.sweep([record()]);
  assert.equal(s.rates(REC)?.windowSeconds, 1.21, 'still against the newest sample ≥ 1 s older (1.205 s), not the one 5 ms ago');
});
