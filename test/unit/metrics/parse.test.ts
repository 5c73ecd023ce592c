import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { addBlkioV1, parseIoStatV2, parseNumberAt, parseSingleValue, pickKeyed } from '../../../src/metrics/cgroup/parse.ts';
import type { BlockIoCounters } from '../../../src/metrics/cgroup/parse.ts';
import { InterfaceFilter, parseNetDev } from '../../../src/host/proc-net.ts';
import { parsePartitions } from '../../../src/metrics/block-devices.ts';

const FIXTURES = new URL('../../fixtures/cgroup/', import.meta.url);

test('numbers are parsed in place; no digits is NaN', () => {
  assert.equal(parseNumberAt('  123 x', 0), 123);
  assert.equal(parseNumberAt('key -42', 4), -42);
  assert.ok(Number.isNaN(parseNumberAt('key value', 4)));
  assert.equal(parseNumberAt('9223372036854771712', 0), 9223372036854771712);
});

test('single-value files: numbers, "max", garbage', () => {
  assert.equal(parseSingleValue('104857600\n'), 104857600);
  assert.equal(parseSingleValue('max\n'), Infinity);
  assert.equal(parseSingleValue(''), null);
  assert.equal(parseSingleValue('bogus'), null);
});

test('flat keyed files: whole keys only, absent keys are null, first occurrence wins', () => {
  const out: (number | null)[] = [];
  pickKeyed('file_mapped 5\nfile 7\nanon 9\ninactive_file 3\n', ['file', 'anon', 'shmem', 'inactive_file'], out);
  assert.deepEqual(out, [7, 9, null, 3]);
  pickKeyed('oom_kill_disable 0\nunder_oom 0\noom_kill 4', ['oom_kill'], out);
  assert.equal(out[0], 4, 'oom_kill_disable is not oom_kill; the last line has no newline');
  pickKeyed('', ['x'], out);
  assert.equal(out[0], null);
});

test('cgroup v1 blkio: Read and Write per device, Sync/Async/Total ignored', () => {
  const map = new Map<number, BlockIoCounters>();
  addBlkioV1('8:0 Read 100\n8:0 Write 200\n8:0 Sync 300\n8:0 Async 0\n8:0 Total 300\n8:16 Read 5\n8:16 Write 6\nTotal 311\n', map, 'bytes');
  addBlkioV1('8:0 Read 1\n8:0 Write 2\n8:0 Total 3\nTotal 3\n', map, 'ops');
  const devices = [...map.values()];
  assert.deepEqual(devices, [
    { major: 8, minor: 0, readBytes: 100, writeBytes: 200, reads: 1, writes: 2 },
    { major: 8, minor: 16, readBytes: 5, writeBytes: 6, reads: 0, writes: 0 },
  ]);
  const empty = new Map<number, BlockIoCounters>();
  addBlkioV1('Total 0\n', empty, 'bytes');
  assert.equal(empty.size, 0, 'a cgroup without I/O lists only the total');
});

test('cgroup v2 io.stat: per device, unknown keys ignored', () => {
  assert.deepEqual(parseIoStatV2('8:0 rbytes=1048576 wbytes=16777216 rios=16 wios=256 dbytes=0 dios=0\n253:0 rbytes=4096 wbytes=8192 rios=1 wios=2 dbytes=0 dios=0\n'), [
    { major: 8, minor: 0, readBytes: 1048576, writeBytes: 16777216, reads: 16, writes: 256 },
    { major: 253, minor: 0, readBytes: 4096, writeBytes: 8192, reads: 1, writes: 2 },
  ]);
  assert.deepEqual(parseIoStatV2(''), []);
  assert.deepEqual(parseIoStatV2('259:0 rbytes=10 wbytes=20 rios=1 wios=2 dbytes=0 dios=0 cost.vrate=100.00'), [
    { major: 259, minor: 0, readBytes: 10, writeBytes: 20, reads: 1, writes: 2 },
  ]);
});

test('/proc/<pid>/net/dev: wide counters touching the colon, header lines skipped, filter by name and prefix', () => {
  const text = readFileSync(new URL('net-dev-wide', FIXTURES), 'latin1');
  const all = parseNetDev(text);
  assert.deepEqual(all.map((i) => i.name), ['lo', 'eth0', 'veth1a2b3c']);
  assert.deepEqual(all[1], {
    name: 'eth0', rxBytes: 12345678901234, rxPackets: 987654, rxErrors: 1, rxDropped: 2,
    txBytes: 98765432109, txPackets: 876543, txErrors: 3, txDropped: 4,
  });
  assert.deepEqual(parseNetDev(text, new InterfaceFilter(['lo', 'veth*'])).map((i) => i.name), ['eth0']);
  assert.deepEqual(parseNetDev(text, new InterfaceFilter([])).length, 3);
});

test('recorded net/dev of a --network none container: lo only', () => {
  const text = readFileSync(new URL('v1-cgroupfs/proc/32052/net/dev', FIXTURES), 'latin1');
  assert.deepEqual(parseNetDev(text).map((i) => i.name), ['lo']);
});

test('/proc/partitions → device names', () => {
  const names = parsePartitions('major minor  #blocks  name\n\n 254        0  268435456 vda\n   8       16  1000 sdb\n');
  assert.equal(names.get('254:0'), '/dev/vda');
  assert.equal(names.get('8:16'), '/dev/sdb');
  assert.equal(names.size, 2);
});
