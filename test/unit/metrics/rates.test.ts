import assert from 'node:assert/strict';
import { test } from 'node:test';
import { computeRates } from '../../../src/metrics/rates.ts';
import type { ContainerSample } from '../../../src/metrics/types.ts';
import { emptyCpu, emptyMemory, workingSet } from '../../../src/metrics/types.ts';

function sample(at: number, cpu: number | null, rx: number, write: number, periods: number | null = null, throttled: number | null = null): ContainerSample {
  return {
    id: 'c',
    at,
    source: 'cgroup',
    cpu: { ...emptyCpu(), usageSeconds: cpu, periods, throttledPeriods: throttled },
    memory: emptyMemory(),
    network: [{ name: 'eth0', rxBytes: rx, rxPackets: 0, rxErrors: 0, rxDropped: 0, txBytes: rx * 2, txPackets: 0, txErrors: 0, txDropped: 0 }],
    blockIo: [{ major: 8, minor: 0, device: '/dev/sda', readBytes: 0, writeBytes: write, reads: 0, writes: 0 }],
    pids: 1,
  };
}

test('rates per second over the window; CPU % where 100 = one core', () => {
  const r = computeRates(sample(10_000, 5, 1000, 0, 100, 10), sample(12_000, 6.5, 5000, 4096, 120, 15));
  assert.deepEqual(r, {
    windowSeconds: 2,
    cpuPercent: 75,
    cpuThrottledPercent: 25,
    networkRxBytesPerSecond: 2000,
    networkTxBytesPerSecond: 4000,
    blockReadBytesPerSecond: 0,
    blockWriteBytesPerSecond: 2048,
  });
});

test('a counter that went down (the container restarted between samples) gives no rate, not a negative one', () => {
  const r = computeRates(sample(0, 100, 9000, 9000), sample(1000, 1, 10, 10));
  assert.equal(r?.cpuPercent, null);
  assert.equal(r?.networkRxBytesPerSecond, null);
  assert.equal(r?.blockWriteBytesPerSecond, null);
});

test('unknown figures stay unknown; samples out of order give nothing', () => {
  const r = computeRates(sample(0, null, 0, 0), sample(1000, 2, 0, 0));
  assert.equal(r?.cpuPercent, null);
  assert.equal(r?.cpuThrottledPercent, null, 'no CFS quota: no throttling figure');
  assert.equal(computeRates(sample(1000, 1, 0, 0), sample(1000, 2, 0, 0)), undefined);
});

test('working set: usage − inactive_file, floored at 0 (cAdvisor)', () => {
  assert.equal(workingSet(100, 30), 70);
  assert.equal(workingSet(100, null), 100);
  assert.equal(workingSet(100, 130), 0);
  assert.equal(workingSet(null, 10), null);
});
