import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { test } from 'node:test';
import { parseMountinfo } from '../../../src/core/mountinfo.ts';
import { cgroupDir, detectCgroupLayout, layoutFromMounts, layoutFromRoot } from '../../../src/metrics/cgroup/layout.ts';

const fixture = (name: string): string => fileURLToPath(new URL(`../../fixtures/cgroup/${name}`, import.meta.url));
const mountinfo = (name: string): string => readFileSync(`${fixture(name)}/mountinfo`, 'utf8');

test('hybrid v1 host (recorded on the CI machine): v1 controllers win over the empty cgroup2 mount', () => {
  const layout = layoutFromMounts(parseMountinfo(mountinfo('v1-cgroupfs')));
  assert.equal(layout.version, 1);
  if (layout.version !== 1) return;
  assert.equal(layout.controllers.memory.dir, '/sys/fs/cgroup/memory');
  assert.equal(layout.controllers.cpu?.dir, '/sys/fs/cgroup/cpu');
  assert.equal(layout.controllers.cpuacct?.dir, '/sys/fs/cgroup/cpuacct');
  assert.equal(layout.controllers.blkio?.dir, '/sys/fs/cgroup/blkio');
  assert.equal(layout.controllers.pids?.dir, '/sys/fs/cgroup/pids');
  assert.match(layout.description, /hybrid/);
});

test('v1 systemd host: cpu and cpuacct co-mounted', () => {
  const layout = layoutFromMounts(parseMountinfo(mountinfo('v1-systemd')));
  assert.equal(layout.version, 1);
  if (layout.version !== 1) return;
  assert.equal(layout.controllers.cpu?.dir, '/sys/fs/cgroup/cpu,cpuacct');
  assert.equal(layout.controllers.cpuacct?.dir, '/sys/fs/cgroup/cpu,cpuacct');
  assert.doesNotMatch(layout.description, /hybrid|not mounted/);
});

test('v2 host: the unified hierarchy', () => {
  const layout = layoutFromMounts(parseMountinfo(mountinfo('v2-systemd')), () => 'cpu io memory pids\n');
  assert.equal(layout.version, 2);
  if (layout.version !== 2) return;
  assert.deepEqual(layout.mount, { dir: '/sys/fs/cgroup', root: '/' });
  assert.match(layout.description, /controllers: cpu io memory pids/);
});

test('no cgroup mounts at all: none (the sampler then uses the stats API)', () => {
  assert.equal(layoutFromMounts(parseMountinfo('22 1 8:1 / / rw - ext4 /dev/sda1 rw\n')).version, 'none');
});

test('a configured root: v2 by cgroup.controllers, v1 by controller directories, co-mounted or separate', () => {
  const v2 = layoutFromRoot(fixture('v2-systemd'));
  assert.equal(v2.version, 2);
  const v1 = layoutFromRoot(fixture('v1-cgroupfs'));
  assert.equal(v1.version, 1);
  if (v1.version === 1) assert.equal(v1.controllers.cpuacct?.dir, `${fixture('v1-cgroupfs')}/cpuacct`);
  const v1s = layoutFromRoot(fixture('v1-systemd'));
  assert.equal(v1s.version, 1);
  if (v1s.version === 1) assert.equal(v1s.controllers.cpu?.dir, `${fixture('v1-systemd')}/cpu,cpuacct`);
  const none = layoutFromRoot(fixture('v1-cgroupfs/proc'));
  assert.equal(none.version, 'none');
  assert.equal(detectCgroupLayout({ cgroupRoot: fixture('v2-cgroupfs'), procRoot: '/nonexistent' }).version, 2);
  assert.equal(detectCgroupLayout({ cgroupRoot: null, procRoot: '/nonexistent' }).version, 'none', 'an unreadable mount table is not a crash');
});

test('cgroup paths under a mount whose root is not / (a container seeing only its own cgroup)', () => {
  const id = 'a'.repeat(64);
  assert.equal(cgroupDir({ dir: '/sys/fs/cgroup/memory', root: '/' }, `/docker/${id}`), `/sys/fs/cgroup/memory/docker/${id}`);
  const own = { dir: '/sys/fs/cgroup/memory', root: '/docker/self' };
  assert.equal(cgroupDir(own, '/docker/self'), '/sys/fs/cgroup/memory');
  assert.equal(cgroupDir(own, '/docker/self/child'), '/sys/fs/cgroup/memory/child');
  assert.equal(cgroupDir(own, `/docker/${id}`), undefined, 'another container is outside this mount');
  assert.equal(cgroupDir(own, '/docker/selfish'), undefined, 'prefix of a name is not a parent');
});
