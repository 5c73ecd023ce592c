import assert from 'node:assert/strict';
import { test } from 'node:test';
import { cpuBusyPercent } from '../../../src/host/host-status.ts';

const t = (user: number, system: number, idle: number): { user: number; nice: number; system: number; idle: number; irq: number } => ({ user, nice: 0, system, idle, irq: 0 });

test('host CPU usage: busy share of all CPUs between two os.cpus() readings', () => {
  // CPU 0: 3 s busy of 4; CPU 1: 1 s busy of 4 → 4 of 8 = 50 %
  assert.equal(cpuBusyPercent([t(10, 5, 100), t(10, 5, 100)], [t(12, 6, 101), t(11, 5, 103)]), 50);
  assert.equal(cpuBusyPercent([], [t(1, 1, 2)]), 50, 'the first sample: since boot');
  assert.equal(cpuBusyPercent([t(1, 1, 1)], [t(1, 1, 1)]), 0, 'no time elapsed');
});
