// The Docker stats API fallback: a one-shot reply recorded from dockerd 20.10 on cgroup v1, and a
// v2-shaped reply (moby's v2 field names: anon/file/inactive_file, lower-case blkio ops, no failcnt).
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { InterfaceFilter } from '../../../src/host/proc-net.ts';
import { sampleFromStats } from '../../../src/metrics/stats-api.ts';
import type { DockerStatsJson } from '../../../src/metrics/stats-api.ts';

const load = (name: string): DockerStatsJson => JSON.parse(readFileSync(new URL(`../../fixtures/docker-stats/${name}`, import.meta.url), 'utf8')) as DockerStatsJson;
const HOST_MEMORY = 24 * 2 ** 30;
const conv = { hostMemoryBytes: HOST_MEMORY, deviceName: (major: number, minor: number) => (major === 254 ? '/dev/vda' : `${major}:${minor}`), ownNetwork: true };

test('v1 reply (recorded): ns → seconds, total_* memory keys, Read/Write per device', () => {
  const s = sampleFromStats('c3c6', load('v1-one-shot.json'), 1000, conv);
  assert.equal(s.source, 'stats-api');
  assert.equal(s.at, 1000);
  assert.deepEqual(s.cpu, { usageSeconds: 1.56335554, userSeconds: 1.51, systemSeconds: 0.04, periods: 32, throttledPeriods: 30, throttledSeconds: 1.403209367 });
  assert.deepEqual(s.memory, {
    usageBytes: 1028096,
    workingSetBytes: 1028096 - 24576,
    rssBytes: 110592,
    cacheBytes: 385024,
    mappedFileBytes: 327680,
    limitBytes: 67108864,
    failcnt: null,
    oomKills: null,
  });
  assert.deepEqual(s.blockIo, [{ major: 254, minor: 0, device: '/dev/vda', readBytes: 372736, writeBytes: 8388608, reads: 21, writes: 8 }]);
  assert.equal(s.pids, 2);
  assert.equal(s.network, null, 'a --network none container has no networks in the stats API');
});

test('v2 reply: anon/file keys, lower-case ops, networks filtered, host-sized limit means none', () => {
  const json = load('v2-one-shot.json');
  const s = sampleFromStats('a1b2', json, 2000, { ...conv, interfaces: new InterfaceFilter(['lo']) });
  assert.deepEqual(s.cpu, { usageSeconds: 51.234567, userSeconds: 40.123456, systemSeconds: 11.111111, periods: 1000, throttledPeriods: 250, throttledSeconds: 12.5 });
  assert.equal(s.memory.workingSetBytes, 104857600 - 20971520);
  assert.equal(s.memory.rssBytes, 73400320);
  assert.equal(s.memory.cacheBytes, 26214400);
  assert.equal(s.memory.mappedFileBytes, 1048576);
  assert.equal(s.memory.limitBytes, 268435456);
  assert.deepEqual(s.blockIo, [{ major: 8, minor: 0, device: '8:0', readBytes: 1048576, writeBytes: 16777216, reads: 0, writes: 0 }]);
  assert.deepEqual(s.network, [{ name: 'eth0', rxBytes: 5000, rxPackets: 50, rxErrors: 0, rxDropped: 1, txBytes: 7000, txPackets: 70, txErrors: 2, txDropped: 0 }]);
  assert.equal(s.pids, 7);

  const unlimited = sampleFromStats('a1b2', { ...json, memory_stats: { ...json.memory_stats, limit: HOST_MEMORY } }, 2000, conv);
  assert.equal(unlimited.memory.limitBytes, 0, 'dockerd reports the host memory size for "no limit"');
  const hostNet = sampleFromStats('a1b2', json, 2000, { ...conv, ownNetwork: false });
  assert.equal(hostNet.network, null, 'host or container: network modes do not own the interfaces');
});

test('an empty or odd reply yields nulls, never a crash', () => {
  const s = sampleFromStats('x', {}, 0, conv);
  assert.equal(s.cpu.usageSeconds, null);
  assert.equal(s.memory.usageBytes, null);
  assert.equal(s.memory.workingSetBytes, null);
  assert.equal(s.blockIo, null);
  assert.equal(s.pids, null);
  const odd = sampleFromStats('x', { memory_stats: { usage: Number.NaN }, blkio_stats: { io_service_bytes_recursive: null } }, 0, conv);
  assert.equal(odd.memory.usageBytes, null);
});
