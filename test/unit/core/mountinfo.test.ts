import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { isReadOnly, parseMountinfo } from '../../../src/core/mountinfo.ts';

void describe('the mount table (mountinfo)', () => {
  void it('optional fields vary in number; octal escapes are decoded', () => {
    const entries = parseMountinfo('36 25 0:31 / /sys/fs/cgroup/cpu,cpuacct rw,nosuid shared:12 master:3 - cgroup cgroup rw,cpu,cpuacct\n40 1 8:1 / /mnt/with\\040space rw - ext4 /dev/sda1 rw\nnot a mount line\n');
    assert.deepEqual(entries, [
      { root: '/', mountPoint: '/sys/fs/cgroup/cpu,cpuacct', mountOptions: ['rw', 'nosuid'], fsType: 'cgroup', source: 'cgroup', superOptions: ['rw', 'cpu', 'cpuacct'] },
      { root: '/', mountPoint: '/mnt/with space', mountOptions: ['rw'], fsType: 'ext4', source: '/dev/sda1', superOptions: ['rw'] },
    ]);
  });

  void it('read-only at the mount or for the whole file system', () => {
    const entries = parseMountinfo(
      '50 1 8:17 / /mnt/my\\040disk ro,noatime - xfs /dev/sdb1 rw\n51 1 8:18 / /mnt/b rw - ext4 /dev/sdb2 ro,errors=remount-ro\n52 1 8:19 / /mnt/c rw,relatime - ext4 /dev/sdb3 rw\n',
    );
    assert.deepEqual(entries.map((m) => m.mountPoint), ['/mnt/my disk', '/mnt/b', '/mnt/c']);
    assert.deepEqual(entries.map(isReadOnly), [true, true, false]);
  });
});
