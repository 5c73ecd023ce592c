/**
 * Per-second rates from a container's last two samples, for the API and Zabbix (Prometheus
 * computes its own with rate()). A counter that went down means the cgroup was recreated (the
 * container restarted between samples): that rate is unknown, not negative.
 */
import type { BlockDeviceFigures, ContainerRates, ContainerSample, NetworkInterfaceFigures } from './types.ts';

function perSecond(now: number | null, before: number | null, seconds: number): number | null {
  if (now === null || before === null || now < before) return null;
  return (now - before) / seconds;
}

function sumOf<T>(items: readonly T[] | null, pick: (x: T) => number): number | null {
  if (items === null) return null;
  let total = 0;
  for (const x of items) total += pick(x);
  return total;
}

function round2(x: number | null): number | null {
  return x === null ? null : Math.round(x * 100) / 100;
}

export function networkTotals(interfaces: readonly NetworkInterfaceFigures[] | null): { rxBytes: number; txBytes: number } | null {
  if (interfaces === null) return null;
  return { rxBytes: sumOf(interfaces, (i) => i.rxBytes) ?? 0, txBytes: sumOf(interfaces, (i) => i.txBytes) ?? 0 };
}

export function blockTotals(devices: readonly BlockDeviceFigures[] | null): { readBytes: number; writeBytes: number; reads: number; writes: number } | null {
  if (devices === null) return null;
  return {
    readBytes: sumOf(devices, (d) => d.readBytes) ?? 0,
    writeBytes: sumOf(devices, (d) => d.writeBytes) ?? 0,
    reads: sumOf(devices, (d) => d.reads) ?? 0,
    writes: sumOf(devices, (d) => d.writes) ?? 0,
  };
}

/** Rates between `previous` and `current` (same container); undefined when they are not in order. */
export function computeRates(previous: ContainerSample, current: ContainerSample): ContainerRates | undefined {
  const seconds = (current.at - previous.at) / 1000;
  if (!(seconds > 0)) return undefined;
  const cpu = perSecond(current.cpu.usageSeconds, previous.cpu.usageSeconds, seconds);
  const periods = perSecond(current.cpu.periods, previous.cpu.periods, 1);
  const throttled = perSecond(current.cpu.throttledPeriods, previous.cpu.throttledPeriods, 1);
  const netNow = networkTotals(current.network);
  const netBefore = networkTotals(previous.network);
  const blkNow = blockTotals(current.blockIo);
  const blkBefore = blockTotals(previous.blockIo);
  return {
    windowSeconds: round2(seconds) ?? 0,
    cpuPercent: round2(cpu === null ? null : cpu * 100),
    cpuThrottledPercent: round2(periods === null || throttled === null || periods === 0 ? (periods === 0 ? 0 : null) : (throttled / periods) * 100),
    networkRxBytesPerSecond: round2(perSecond(netNow?.rxBytes ?? null, netBefore?.rxBytes ?? null, seconds)),
    networkTxBytesPerSecond: round2(perSecond(netNow?.txBytes ?? null, netBefore?.txBytes ?? null, seconds)),
    blockReadBytesPerSecond: round2(perSecond(blkNow?.readBytes ?? null, blkBefore?.readBytes ?? null, seconds)),
    blockWriteBytesPerSecond: round2(perSecond(blkNow?.writeBytes ?? null, blkBefore?.writeBytes ?? null, seconds)),
  };
}
