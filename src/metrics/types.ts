/**
 * The figures of one container at one instant, whichever source produced them (cgroup files or
 * the Docker stats API). `null` means "not available from this source" (a controller that is not
 * mounted, a file an older kernel lacks), never zero: the exposition leaves such series out
 * instead of inventing a value.
 */
import type { NetworkInterfaceFigures } from '../host/proc-net.ts';

export type { NetworkInterfaceFigures } from '../host/proc-net.ts';

export interface CpuFigures {
  /** Total CPU time consumed, seconds (cgroup v1 cpuacct.usage, v2 cpu.stat usage_usec). */
  usageSeconds: number | null;
  userSeconds: number | null;
  systemSeconds: number | null;
  /** CFS bandwidth periods elapsed and throttled (only with a CPU quota, `--cpus`). */
  periods: number | null;
  throttledPeriods: number | null;
  throttledSeconds: number | null;
}

export interface MemoryFigures {
  /** memory.usage_in_bytes (v1) / memory.current (v2): includes page cache. */
  usageBytes: number | null;
  /** usage − inactive_file, floored at 0: what docker stats shows as MEM USAGE and cAdvisor as working set. */
  workingSetBytes: number | null;
  /** Anonymous memory: total_rss (v1) / anon (v2). */
  rssBytes: number | null;
  /** Page cache: total_cache (v1) / file (v2). */
  cacheBytes: number | null;
  mappedFileBytes: number | null;
  /** The limit in bytes; 0 = no limit (cAdvisor's convention for container_spec_memory_limit_bytes). */
  limitBytes: number | null;
  /** Times usage hit the limit: memory.failcnt (v1) / memory.events `max` (v2). */
  failcnt: number | null;
  /** Processes killed by the OOM killer in this cgroup: memory.oom_control / memory.events `oom_kill`. */
  oomKills: number | null;
}

export interface BlockDeviceFigures {
  major: number;
  minor: number;
  /** `/dev/sda` when the device is known, else `MAJ:MIN`. */
  device: string;
  readBytes: number;
  writeBytes: number;
  reads: number;
  writes: number;
}

export type SampleSource = 'cgroup' | 'stats-api';

export interface ContainerSample {
  id: string;
  /** Unix ms when the figures were read. */
  at: number;
  source: SampleSource;
  cpu: CpuFigures;
  memory: MemoryFigures;
  /** Per interface; null when not the container's own (host or container: network mode) or unreadable. */
  network: NetworkInterfaceFigures[] | null;
  /** Per device; null when the blkio/io controller is not available. */
  blockIo: BlockDeviceFigures[] | null;
  /** Tasks in the cgroup (pids.current). */
  pids: number | null;
}

/** Per-second rates between a container's last two samples. */
export interface ContainerRates {
  /** Seconds between the two samples. */
  windowSeconds: number;
  /** CPU time per wall time × 100: 100 = one core busy (docker stats' CPU %). */
  cpuPercent: number | null;
  /** Share of CFS periods throttled in the window, percent. */
  cpuThrottledPercent: number | null;
  networkRxBytesPerSecond: number | null;
  networkTxBytesPerSecond: number | null;
  blockReadBytesPerSecond: number | null;
  blockWriteBytesPerSecond: number | null;
}

export function emptyCpu(): CpuFigures {
  return { usageSeconds: null, userSeconds: null, systemSeconds: null, periods: null, throttledPeriods: null, throttledSeconds: null };
}

export function emptyMemory(): MemoryFigures {
  return { usageBytes: null, workingSetBytes: null, rssBytes: null, cacheBytes: null, mappedFileBytes: null, limitBytes: null, failcnt: null, oomKills: null };
}

/**
 * Working set: usage − inactive_file, as cAdvisor (container/libcontainer/handler.go) and the
 * docker CLI (calculateMemUsageUnixNoCache) compute it. When per-CPU charge batching makes
 * inactive_file exceed usage, cAdvisor says 0 and the CLI says usage; 0 is the honest floor.
 */
export function workingSet(usage: number | null, inactiveFile: number | null): number | null {
  if (usage === null) return null;
  if (inactiveFile === null) return usage;
  return inactiveFile > usage ? 0 : usage - inactiveFile;
}
