/**
 * One container's figures from cgroup v1 (Documentation/admin-guide/cgroup-v1/): memory, cpuacct,
 * cpu (CFS bandwidth), blkio (throttle policy) and pids hierarchies, each possibly mounted
 * elsewhere (`cpu,cpuacct` co-mounted on systemd hosts) or absent.
 *
 * Kernel details that matter here:
 * - memory.stat `total_*` keys are hierarchical (the container's cgroup and any children, e.g.
 *   systemd or Docker running inside it); the plain keys are this cgroup only. docker stats and
 *   cAdvisor use total_inactive_file / total_rss / total_cache, so do we.
 * - cpuacct.stat is in USER_HZ ticks, which the kernel fixes at 100 for user space on every
 *   architecture Docker runs on (jiffies_to_clock_t); cpuacct.usage is in nanoseconds.
 * - blkio.throttle.io_service_bytes counts bios at the throttling layer, so buffered writes show
 *   up only if written back from the container's cgroup (v1 attributes most writeback to the
 *   flusher threads: the root cgroup). Direct I/O and reads are attributed correctly. Since Linux
 *   6.10 (commit a3166c51702b, "blk-throttle: delay initialization until configuration") these
 *   counters stay 0 on a device until some cgroup sets a throttle limit on it; the Docker stats
 *   API reads the same files and shows the same zeros. runc and docker read the `_recursive`
 *   variants; so do we, falling back to the plain files on older kernels.
 * - memory.oom_control `oom_kill` (Linux 4.13+) counts OOM kills in the cgroup.
 */
import type { CpuFigures, MemoryFigures } from '../types.ts';
import { workingSet } from '../types.ts';
import type { KernelFileReader } from './file-reader.ts';
import { isFailure } from './file-reader.ts';
import type { CgroupLayout, CgroupMount } from './layout.ts';
import { cgroupDir } from './layout.ts';
import type { BlockIoCounters } from './parse.ts';
import { addBlkioV1, parseSingleValue, pickKeyed } from './parse.ts';
import type { CgroupReadResult, ContainerFiles } from './read-result.ts';
import { meansGone, readOptional } from './read-result.ts';

const USER_HZ = 100;
/** Above this a v1 limit means "unlimited" (PAGE_COUNTER_MAX × page size ≈ 2^63); cAdvisor uses the same cut-off. */
const UNLIMITED_ABOVE = 2 ** 62;

const MEMORY_STAT_KEYS = ['total_rss', 'total_cache', 'total_mapped_file', 'total_inactive_file', 'rss', 'cache', 'mapped_file', 'inactive_file'] as const;
const CPUACCT_STAT_KEYS = ['user', 'system'] as const;
const CPU_STAT_KEYS = ['nr_periods', 'nr_throttled', 'throttled_time'] as const;
const OOM_CONTROL_KEYS = ['oom_kill'] as const;

type V1Layout = Extract<CgroupLayout, { version: 1 }>;

function dirOf(mount: CgroupMount | undefined, cgroupPath: string): string | undefined {
  return mount ? cgroupDir(mount, cgroupPath) : undefined;
}

export class CgroupV1Reader {
  readonly #layout: V1Layout;
  readonly #reader: KernelFileReader;
  readonly #values: (number | null)[] = new Array<number | null>(MEMORY_STAT_KEYS.length).fill(null);

  constructor(layout: V1Layout, reader: KernelFileReader) {
    this.#layout = layout;
    this.#reader = reader;
  }

  read(cgroupPath: string, files: ContainerFiles): CgroupReadResult {
    const c = this.#layout.controllers;
    const memoryDir = dirOf(c.memory, cgroupPath);
    if (memoryDir === undefined) return { kind: 'unreadable', path: cgroupPath, error: 'outside the mounted cgroup hierarchy' };

    // The primary file: it tells "gone" from "unreadable" for the whole container.
    const usagePath = `${memoryDir}/memory.usage_in_bytes`;
    const usageText = this.#reader.readHeld(usagePath, files.held);
    if (isFailure(usageText)) {
      return meansGone(usageText.error) ? { kind: 'gone', path: usagePath } : { kind: 'unreadable', path: usagePath, error: usageText.error };
    }
    const v = this.#values;
    const reader = this.#reader;

    const memory: MemoryFigures = {
      usageBytes: parseSingleValue(usageText),
      workingSetBytes: null,
      rssBytes: null,
      cacheBytes: null,
      mappedFileBytes: null,
      limitBytes: null,
      failcnt: null,
      oomKills: null,
    };
    const limitText = readOptional(reader, `${memoryDir}/memory.limit_in_bytes`, files);
    if (limitText !== null) {
      const limit = parseSingleValue(limitText);
      memory.limitBytes = limit === null ? null : limit > UNLIMITED_ABOVE ? 0 : limit;
    }
    const failText = readOptional(reader, `${memoryDir}/memory.failcnt`, files);
    if (failText !== null) memory.failcnt = parseSingleValue(failText);
    const statText = readOptional(reader, `${memoryDir}/memory.stat`, files);
    if (statText !== null) {
      pickKeyed(statText, MEMORY_STAT_KEYS, v);
      // total_* are missing only with use_hierarchy=0 on old kernels: the plain keys are then exact
      memory.rssBytes = v[0] ?? v[4] ?? null;
      memory.cacheBytes = v[1] ?? v[5] ?? null;
      memory.mappedFileBytes = v[2] ?? v[6] ?? null;
      memory.workingSetBytes = workingSet(memory.usageBytes, v[3] ?? v[7] ?? null);
    } else {
      memory.workingSetBytes = memory.usageBytes;
    }
    const oomText = readOptional(reader, `${memoryDir}/memory.oom_control`, files);
    if (oomText !== null) {
      pickKeyed(oomText, OOM_CONTROL_KEYS, v);
      memory.oomKills = v[0] ?? null;
    }

    const cpu: CpuFigures = { usageSeconds: null, userSeconds: null, systemSeconds: null, periods: null, throttledPeriods: null, throttledSeconds: null };
    const cpuacctDir = dirOf(c.cpuacct, cgroupPath);
    if (cpuacctDir !== undefined) {
      const usage = readOptional(reader, `${cpuacctDir}/cpuacct.usage`, files);
      if (usage !== null) {
        const ns = parseSingleValue(usage);
        cpu.usageSeconds = ns === null ? null : ns / 1e9;
      }
      const stat = readOptional(reader, `${cpuacctDir}/cpuacct.stat`, files);
      if (stat !== null) {
        pickKeyed(stat, CPUACCT_STAT_KEYS, v);
        cpu.userSeconds = v[0] === null || v[0] === undefined ? null : v[0] / USER_HZ;
        cpu.systemSeconds = v[1] === null || v[1] === undefined ? null : v[1] / USER_HZ;
      }
    }
    const cpuDir = dirOf(c.cpu, cgroupPath);
    if (cpuDir !== undefined) {
      const stat = readOptional(reader, `${cpuDir}/cpu.stat`, files);
      if (stat !== null) {
        pickKeyed(stat, CPU_STAT_KEYS, v);
        cpu.periods = v[0] ?? null;
        cpu.throttledPeriods = v[1] ?? null;
        cpu.throttledSeconds = v[2] === null || v[2] === undefined ? null : v[2] / 1e9;
      }
    }

    let blockIo: BlockIoCounters[] | null = null;
    const blkioDir = dirOf(c.blkio, cgroupPath);
    if (blkioDir !== undefined) {
      const devices = new Map<number, BlockIoCounters>();
      const bytes = this.#recursiveOrPlain(`${blkioDir}/blkio.throttle.io_service_bytes`, files);
      const ops = this.#recursiveOrPlain(`${blkioDir}/blkio.throttle.io_serviced`, files);
      if (bytes !== null) addBlkioV1(bytes, devices, 'bytes');
      if (ops !== null) addBlkioV1(ops, devices, 'ops');
      if (bytes !== null || ops !== null) blockIo = [...devices.values()];
    }

    let pids: number | null = null;
    const pidsDir = dirOf(c.pids, cgroupPath);
    if (pidsDir !== undefined) {
      const text = readOptional(reader, `${pidsDir}/pids.current`, files);
      if (text !== null) pids = parseSingleValue(text);
    }
    return { kind: 'ok', cpu, memory, blockIo, pids };
  }

  #recursiveOrPlain(base: string, files: ContainerFiles): string | null {
    return readOptional(this.#reader, `${base}_recursive`, files) ?? readOptional(this.#reader, base, files);
  }
}
