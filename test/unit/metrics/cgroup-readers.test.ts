// The v1 and v2 readers against recorded trees: v1 cgroupfs recorded on the CI machine (Linux
// 6.18, Docker 20.10: a container with --memory 64m --cpus 0.5 --pids-limit 100 after 8 MiB of
// direct writes, and one whose child process was OOM-killed), v1 systemd with the same files
// under systemd's paths and cpu,cpuacct co-mounted, v2 systemd and cgroupfs written from the
// kernel's cgroup-v2.rst formats. Each tree also has a container with files missing.
import assert from 'node:assert/strict';
import { cpSync, mkdirSync, mkdtempSync, rmSync, unlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, test } from 'node:test';
import { KernelFileReader } from '../../../src/metrics/cgroup/file-reader.ts';
import { layoutFromRoot } from '../../../src/metrics/cgroup/layout.ts';
import type { CgroupLayout } from '../../../src/metrics/cgroup/layout.ts';
import type { CgroupReadResult, ContainerFiles } from '../../../src/metrics/cgroup/read-result.ts';
import { newContainerFiles } from '../../../src/metrics/cgroup/read-result.ts';
import { CgroupV1Reader } from '../../../src/metrics/cgroup/v1.ts';
import { CgroupV2Reader } from '../../../src/metrics/cgroup/v2.ts';

const fixture = (name: string): string => fileURLToPath(new URL(`../../fixtures/cgroup/${name}`, import.meta.url));
const REC = '79384f07c6f2954dc5b1d22abf37ac2ce85d2875b59d1d71f7311112680e29ac';
const OOM = 'bb8937e60bac131a29e43506c36a29ec9d6ea5028d48cb42e3c949c7f138b96f';
const V1_SYSTEMD = '5d2a5f0c3d1e4b7a9c8f6e5d4c3b2a1908f7e6d5c4b3a29180f7e6d5c4b3a291';
const V2 = 'a1b2c3d4e5f60718293a4b5c6d7e8f90a1b2c3d4e5f60718293a4b5c6d7e8f90';
const V2_MIN = '0f1e2d3c4b5a69788796a5b4c3d2e1f00f1e2d3c4b5a69788796a5b4c3d2e1f0';

const kernel = new KernelFileReader();
const opened: ContainerFiles[] = [];
after(() => {
  for (const f of opened) kernel.closeAll(f.held);
});

function reader(layout: CgroupLayout): { read(path: string, files?: ContainerFiles): CgroupReadResult } {
  const r = layout.version === 1 ? new CgroupV1Reader(layout, kernel) : layout.version === 2 ? new CgroupV2Reader(layout, kernel) : undefined;
  if (!r) throw new Error('no layout');
  return {
    read: (path, files = newContainerFiles()) => {
      opened.push(files);
      return r.read(path, files);
    },
  };
}

function ok(res: CgroupReadResult): Extract<CgroupReadResult, { kind: 'ok' }> {
  if (res.kind !== 'ok') assert.fail(`expected figures, got ${JSON.stringify(res)}`);
  return res;
}

test('v1 cgroupfs (recorded): every figure, units converted', () => {
  const res = ok(reader(layoutFromRoot(fixture('v1-cgroupfs'))).read(`/docker/${REC}`));
  assert.deepEqual(res.cpu, {
    usageSeconds: 7.166078597,
    userSeconds: 6.99, // 699 USER_HZ ticks
    systemSeconds: 0.17,
    periods: 144,
    throttledPeriods: 142,
    throttledSeconds: 6.402169053,
  });
  assert.deepEqual(res.memory, {
    usageBytes: 20598784,
    workingSetBytes: 20598784, // total_inactive_file 0
    rssBytes: 20197376,
    cacheBytes: 0,
    mappedFileBytes: 0,
    limitBytes: 67108864,
    failcnt: 0,
    oomKills: 0,
  });
  assert.deepEqual(res.blockIo, [{ major: 254, minor: 0, readBytes: 0, writeBytes: 8388608, reads: 0, writes: 8 }]);
  assert.equal(res.pids, 2);
});

test('v1 cgroupfs, missing controllers (no cpu, blkio, pids dirs for this container): those figures are null, the rest is read', () => {
  const files = newContainerFiles();
  const r = reader(layoutFromRoot(fixture('v1-cgroupfs')));
  const res = ok(r.read(`/docker/${OOM}`, files));
  assert.equal(res.cpu.usageSeconds, 0.361227284);
  assert.equal(res.cpu.userSeconds, 0.18);
  assert.equal(res.cpu.throttledPeriods, null);
  assert.equal(res.memory.oomKills, 1);
  assert.equal(res.memory.limitBytes, 33554432);
  assert.equal(res.blockIo, null);
  assert.equal(res.pids, null);
  assert.ok(files.skip.size >= 3, 'missing files are remembered so the next sweep does not retry them');
  assert.equal(files.held.size, 7, 'the files that exist stay open for the next sweep');
  const failures = kernel.failures;
  const again = ok(r.read(`/docker/${OOM}`, files));
  assert.deepEqual(again, res);
  assert.equal(kernel.failures, failures, 'no failed open() on the second read');
});

test('v1 systemd driver: co-mounted cpu,cpuacct, non-recursive blkio files (older kernels)', () => {
  const res = ok(reader(layoutFromRoot(fixture('v1-systemd'))).read(`/system.slice/docker-${V1_SYSTEMD}.scope`));
  assert.equal(res.cpu.usageSeconds, 7.166078597);
  assert.equal(res.cpu.throttledPeriods, 142);
  assert.equal(res.memory.usageBytes, 20598784);
  assert.deepEqual(res.blockIo, [{ major: 254, minor: 0, readBytes: 0, writeBytes: 8388608, reads: 0, writes: 8 }]);
  assert.equal(res.pids, 2);
});

for (const [tree, path] of [['v2-systemd', `/system.slice/docker-${V2}.scope`], ['v2-cgroupfs', `/docker/${V2}`]] as const) {
  test(`${tree}: every figure; working set = current − inactive_file; failcnt from memory.events max`, () => {
    const res = ok(reader(layoutFromRoot(fixture(tree))).read(path));
    assert.deepEqual(res.cpu, { usageSeconds: 51.234567, userSeconds: 40.123456, systemSeconds: 11.111111, periods: 1000, throttledPeriods: 250, throttledSeconds: 12.5 });
    assert.deepEqual(res.memory, {
      usageBytes: 104857600,
      workingSetBytes: 104857600 - 20971520,
      rssBytes: 73400320,
      cacheBytes: 26214400,
      mappedFileBytes: 1048576,
      limitBytes: 268435456,
      failcnt: 3,
      oomKills: 1,
    });
    assert.deepEqual(res.blockIo, [
      { major: 8, minor: 0, readBytes: 1048576, writeBytes: 16777216, reads: 16, writes: 256 },
      { major: 253, minor: 0, readBytes: 4096, writeBytes: 8192, reads: 1, writes: 2 },
    ]);
    assert.equal(res.pids, 7);
  });
}

test('v2 with controllers not enabled for the subtree: no throttling keys, no io.stat, pids.current or memory.events; memory.max "max" = no limit (0)', () => {
  const parent = 'system.slice';
  const res = ok(reader(layoutFromRoot(fixture('v2-systemd'))).read(`/${parent}/docker-${V2_MIN}.scope`));
  assert.deepEqual(res.cpu, { usageSeconds: 2.5, userSeconds: 2, systemSeconds: 0.5, periods: null, throttledPeriods: null, throttledSeconds: null });
  assert.equal(res.memory.limitBytes, 0);
  assert.equal(res.memory.workingSetBytes, 1052672 - 4096);
  assert.equal(res.memory.failcnt, null);
  assert.equal(res.memory.oomKills, null);
  assert.equal(res.blockIo, null);
  assert.equal(res.pids, null);
});

test('a cgroup that does not exist is "gone", for both versions', () => {
  assert.equal(reader(layoutFromRoot(fixture('v1-cgroupfs'))).read(`/docker/${'0'.repeat(64)}`).kind, 'gone');
  assert.equal(reader(layoutFromRoot(fixture('v2-cgroupfs'))).read(`/docker/${'0'.repeat(64)}`).kind, 'gone');
});

const scratch = mkdtempSync(join(tmpdir(), 'dockhand-cgroup-'));
after(() => rmSync(scratch, { recursive: true, force: true }));

test('an unreadable primary file is "unreadable" (not gone): the sampler falls back to the stats API', () => {
  const root = join(scratch, 'v2');
  cpSync(fixture('v2-cgroupfs'), root, { recursive: true });
  const dir = join(root, 'docker', V2);
  unlinkSync(join(dir, 'cpu.stat'));
  mkdirSync(join(dir, 'cpu.stat')); // reading a directory fails with EISDIR, as EACCES would for a non-root agent
  const res = reader(layoutFromRoot(root)).read(`/docker/${V2}`);
  assert.equal(res.kind, 'unreadable');
  if (res.kind === 'unreadable') assert.equal(res.error, 'EISDIR');
});

test('a path outside the mounted hierarchy is "unreadable"', () => {
  const layout: CgroupLayout = { version: 2, mount: { dir: fixture('v2-cgroupfs'), root: '/docker/self' }, description: '' };
  const res = reader(layout).read(`/docker/${V2}`);
  assert.equal(res.kind, 'unreadable');
});
