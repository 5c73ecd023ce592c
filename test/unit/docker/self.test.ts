import assert from 'node:assert/strict';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { containerIdFromCgroup, containerIdFromMountinfo, ownContainerId } from '../../../src/docker/self.ts';

const id = 'c0ffee'.padEnd(64, '1');

test('own container id from the hostname bind mount in mountinfo', () => {
  const mountinfo = [
    '600 500 0:52 / / rw,relatime master:300 - overlay overlay rw,lowerdir=/x',
    `612 600 254:1 /var/lib/docker/containers/${id}/resolv.conf /etc/resolv.conf rw,relatime - ext4 /dev/vda rw`,
    `613 600 254:1 /var/lib/docker/containers/${id}/hostname /etc/hostname rw,relatime - ext4 /dev/vda rw`,
  ].join('\n');
  assert.equal(containerIdFromMountinfo(mountinfo), id);
  assert.equal(containerIdFromMountinfo('1 0 0:1 / / rw - ext4 /dev/vda rw\n'), undefined);
});

test('own container id from cgroup v1 paths, both drivers', () => {
  assert.equal(containerIdFromCgroup(`9:memory:/docker/${id}\n`), id);
  assert.equal(containerIdFromCgroup(`1:name=systemd:/system.slice/docker-${id}.scope\n`), id);
  assert.equal(containerIdFromCgroup('0::/user.slice/user-0.slice/session-1.scope\n'), undefined);
});

test('ownContainerId reads a proc tree: mountinfo first, cgroup as the fallback, none outside containers', async () => {
  const root = await mkdtemp(join(tmpdir(), 'dockhand-proc-'));
  try {
    await mkdir(join(root, 'self'));
    await writeFile(join(root, 'self', 'mountinfo'), '1 0 0:1 / / rw - ext4 /dev/vda rw\n');
    await writeFile(join(root, 'self', 'cgroup'), '0::/user.slice/session-1.scope\n');
    assert.equal(await ownContainerId(root), undefined);
    await writeFile(join(root, 'self', 'cgroup'), `4:pids:/docker/${id}\n`);
    assert.equal(await ownContainerId(root), id);
  } finally {
    await rm(root, { recursive: true, force: true });
  }
});
