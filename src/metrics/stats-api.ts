/**
 * The fallback source: Docker's stats API, for containers whose cgroup files the agent cannot
 * read (a container runtime that keeps cgroups elsewhere, an agent without the host's
 * /sys/fs/cgroup). Always `stream=false&one-shot=true`: the default makes dockerd take two
 * readings a second apart to fill `precpu_stats` (~1–2 s per call); the agent keeps its own
 * previous sample for rates instead. Even one-shot waits for dockerd's next collection tick
 * (up to 1 s) while another client is streaming the same container's stats.
 *
 * The JSON differs by cgroup version (moby api/types/stats.go): v1 memory stats carry total_*
 * keys and failcnt, v2 carries anon/file/inactive_file and no failcnt; blkio ops are `Read` on
 * v1 and `read` on v2. An unlimited memory limit is reported as the host's memory size.
 */
import type Docker from 'dockerode';
import { isNotFound } from '../docker/client.ts';
import type { InterfaceFilter } from '../host/proc-net.ts';
import type { BlockDeviceFigures, ContainerSample, NetworkInterfaceFigures } from './types.ts';
import { workingSet } from './types.ts';
import { deadline } from '../core/timers.ts';

interface BlkioEntry {
  major: number;
  minor: number;
  op: string;
  value: number;
}

interface NetworkStatsJson {
  rx_bytes?: number;
  rx_packets?: number;
  rx_errors?: number;
  rx_dropped?: number;
  tx_bytes?: number;
  tx_packets?: number;
  tx_errors?: number;
  tx_dropped?: number;
}

/** The parts of GET /containers/{id}/stats the agent uses. */
export interface DockerStatsJson {
  read?: string;
  pids_stats?: { current?: number };
  blkio_stats?: { io_service_bytes_recursive?: BlkioEntry[] | null; io_serviced_recursive?: BlkioEntry[] | null };
  cpu_stats?: {
    cpu_usage?: { total_usage?: number; usage_in_kernelmode?: number; usage_in_usermode?: number };
    throttling_data?: { periods?: number; throttled_periods?: number; throttled_time?: number };
  };
  memory_stats?: { usage?: number; limit?: number; failcnt?: number; stats?: Record<string, number> };
  networks?: Record<string, NetworkStatsJson>;
}

function num(v: unknown): number | null {
  return typeof v === 'number' && Number.isFinite(v) ? v : null;
}

function nsToSeconds(v: unknown): number | null {
  const n = num(v);
  return n === null ? null : n / 1e9;
}

export interface StatsConversion {
  /** Host memory: a limit at or above it means "no limit" (dockerd substitutes the host's size). */
  hostMemoryBytes: number;
  deviceName: (major: number, minor: number) => string;
  interfaces?: InterfaceFilter;
  /** false for host/container network modes: the interfaces are not the container's own. */
  ownNetwork: boolean;
}

export function sampleFromStats(id: string, json: DockerStatsJson, at: number, conv: StatsConversion): ContainerSample {
  const cpuStats = json.cpu_stats ?? {};
  const usage = cpuStats.cpu_usage ?? {};
  const throttling = cpuStats.throttling_data;
  const mem = json.memory_stats ?? {};
  const stats = mem.stats ?? {};
  const v1 = 'total_inactive_file' in stats || 'total_rss' in stats;
  const memUsage = num(mem.usage);
  const limit = num(mem.limit);

  let network: NetworkInterfaceFigures[] | null = null;
  if (conv.ownNetwork && json.networks) {
    network = Object.entries(json.networks)
      .filter(([name]) => !conv.interfaces?.excludes(name))
      .map(([name, n]) => ({
        name,
        rxBytes: n.rx_bytes ?? 0,
        rxPackets: n.rx_packets ?? 0,
        rxErrors: n.rx_errors ?? 0,
        rxDropped: n.rx_dropped ?? 0,
        txBytes: n.tx_bytes ?? 0,
        txPackets: n.tx_packets ?? 0,
        txErrors: n.tx_errors ?? 0,
        txDropped: n.tx_dropped ?? 0,
      }));
  }

  let blockIo: BlockDeviceFigures[] | null = null;
  const bytes = json.blkio_stats?.io_service_bytes_recursive;
  const ops = json.blkio_stats?.io_serviced_recursive;
  if (Array.isArray(bytes) || Array.isArray(ops)) {
    const devices = new Map<string, BlockDeviceFigures>();
    const add = (entries: BlkioEntry[] | null | undefined, kind: 'bytes' | 'ops'): void => {
      for (const e of entries ?? []) {
        const op = e.op.toLowerCase();
        if (op !== 'read' && op !== 'write') continue;
        const key = `${e.major}:${e.minor}`;
        let d = devices.get(key);
        if (!d) {
          d = { major: e.major, minor: e.minor, device: conv.deviceName(e.major, e.minor), readBytes: 0, writeBytes: 0, reads: 0, writes: 0 };
          devices.set(key, d);
        }
        if (kind === 'bytes') {
          if (op === 'read') d.readBytes += e.value;
          else d.writeBytes += e.value;
        } else if (op === 'read') d.reads += e.value;
        else d.writes += e.value;
      }
    };
    add(bytes, 'bytes');
    add(ops, 'ops');
    blockIo = [...devices.values()];
  }

  return {
    id,
    at,
    source: 'stats-api',
    cpu: {
      usageSeconds: nsToSeconds(usage.total_usage),
      userSeconds: nsToSeconds(usage.usage_in_usermode),
      systemSeconds: nsToSeconds(usage.usage_in_kernelmode),
      periods: num(throttling?.periods),
      throttledPeriods: num(throttling?.throttled_periods),
      throttledSeconds: nsToSeconds(throttling?.throttled_time),
    },
    memory: {
      usageBytes: memUsage,
      workingSetBytes: workingSet(memUsage, num(v1 ? stats.total_inactive_file : stats.inactive_file)),
      rssBytes: num(v1 ? stats.total_rss : stats.anon),
      cacheBytes: num(v1 ? stats.total_cache : stats.file),
      mappedFileBytes: num(v1 ? stats.total_mapped_file : stats.file_mapped),
      limitBytes: limit === null ? null : limit >= conv.hostMemoryBytes ? 0 : limit,
      failcnt: num(mem.failcnt),
      oomKills: null,
    },
    network,
    blockIo,
    pids: num(json.pids_stats?.current),
  };
}

/** One-shot stats of one container; 'gone' when Docker no longer knows it. Throws on other failures. */
export async function fetchOneShotStats(docker: Docker, id: string, timeoutMs: number): Promise<DockerStatsJson | 'gone'> {
  try {
    // dockerode passes unknown options through as query parameters; its typings lack one-shot
    const opts = { stream: false, 'one-shot': true, abortSignal: deadline(timeoutMs) } as unknown as { stream: false };
    return await docker.getContainer(id).stats(opts);
  } catch (err) {
    if (isNotFound(err)) return 'gone';
    throw err;
  }
}
