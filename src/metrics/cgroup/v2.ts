/**
 * One container's figures from the cgroup v2 unified hierarchy (Documentation/admin-guide/
 * cgroup-v2.rst). Every cgroup has cpu.stat (usage, user, system) even without the cpu
 * controller; the throttling keys, memory.*, io.stat and pids.current exist only when the parent
 * enables those controllers for its children (cgroup.subtree_control), so each is optional.
 *
 * Kernel details that matter here:
 * - memory.stat is hierarchical in v2 (no total_ prefix); `anon` is v1's rss, `file` its cache,
 *   `file_mapped` its mapped_file.
 * - memory.events `max` counts the times usage hit memory.max (runc reports it as failcnt);
 *   `oom_kill` counts OOM kills in the cgroup (Linux 4.13+).
 * - io.stat is accounted by blk-cgroup's rstat, including writeback attributed to the cgroup,
 *   unlike v1's throttle counters.
 */
import type { CpuFigures, MemoryFigures } from '../types.ts';
import { workingSet } from '../types.ts';
import type { KernelFileReader } from './file-reader.ts';
import { isFailure } from './file-reader.ts';
import type { CgroupLayout } from './layout.ts';
import { cgroupDir } from './layout.ts';
import type { BlockIoCounters } from './parse.ts';
import { parseIoStatV2, parseSingleValue, pickKeyed } from './parse.ts';
import type { CgroupReadResult, ContainerFiles } from './read-result.ts';
import { meansGone, readOptional } from './read-result.ts';

const CPU_STAT_KEYS = ['usage_usec', 'user_usec', 'system_usec', 'nr_periods', 'nr_throttled', 'throttled_usec'] as const;
const MEMORY_STAT_KEYS = ['anon', 'file', 'file_mapped', 'inactive_file'] as const;
const MEMORY_EVENTS_KEYS = ['max', 'oom_kill'] as const;

type V2Layout = Extract<CgroupLayout, { version: 2 }>;

function seconds(usec: number | null | undefined): number | null {
  return usec === null || usec === undefined ? null : usec / 1e6;
}

export class CgroupV2Reader {
  readonly #layout: V2Layout;
  readonly #reader: KernelFileReader;
  readonly #values: (number | null)[] = new Array<number | null>(CPU_STAT_KEYS.length).fill(null);

  constructor(layout: V2Layout, reader: KernelFileReader) {
    this.#layout = layout;
    this.#reader = reader;
  }

  read(cgroupPath: string, files: ContainerFiles): CgroupReadResult {
    const dir = cgroupDir(this.#layout.mount, cgroupPath);
    if (dir === undefined) return { kind: 'unreadable', path: cgroupPath, error: 'outside the mounted cgroup hierarchy' };
    const reader = this.#reader;
    const v = this.#values;

    // cpu.stat exists in every v2 cgroup: the primary file.
    const cpuPath = `${dir}/cpu.stat`;
    const cpuText = reader.readHeld(cpuPath, files.held);
    if (isFailure(cpuText)) {
      return meansGone(cpuText.error) ? { kind: 'gone', path: cpuPath } : { kind: 'unreadable', path: cpuPath, error: cpuText.error };
    }
    pickKeyed(cpuText, CPU_STAT_KEYS, v);
    const cpu: CpuFigures = {
      usageSeconds: seconds(v[0]),
      userSeconds: seconds(v[1]),
      systemSeconds: seconds(v[2]),
      periods: v[3] ?? null,
      throttledPeriods: v[4] ?? null,
      throttledSeconds: seconds(v[5]),
    };

    const memory: MemoryFigures = {
      usageBytes: null,
      workingSetBytes: null,
      rssBytes: null,
      cacheBytes: null,
      mappedFileBytes: null,
      limitBytes: null,
      failcnt: null,
      oomKills: null,
    };
    const current = readOptional(reader, `${dir}/memory.current`, files);
    if (current !== null) memory.usageBytes = parseSingleValue(current);
    const max = readOptional(reader, `${dir}/memory.max`, files);
    if (max !== null) {
      const limit = parseSingleValue(max);
      memory.limitBytes = limit === Infinity ? 0 : limit;
    }
    const stat = readOptional(reader, `${dir}/memory.stat`, files);
    if (stat !== null) {
      pickKeyed(stat, MEMORY_STAT_KEYS, v);
      memory.rssBytes = v[0] ?? null;
      memory.cacheBytes = v[1] ?? null;
      memory.mappedFileBytes = v[2] ?? null;
      memory.workingSetBytes = workingSet(memory.usageBytes, v[3] ?? null);
    } else {
      memory.workingSetBytes = memory.usageBytes;
    }
    const events = readOptional(reader, `${dir}/memory.events`, files);
    if (events !== null) {
      pickKeyed(events, MEMORY_EVENTS_KEYS, v);
      memory.failcnt = v[0] ?? null;
      memory.oomKills = v[1] ?? null;
    }

    let blockIo: BlockIoCounters[] | null = null;
    const io = readOptional(reader, `${dir}/io.stat`, files);
    if (io !== null) blockIo = parseIoStatV2(io);

    let pids: number | null = null;
    const pidsText = readOptional(reader, `${dir}/pids.current`, files);
    if (pidsText !== null) pids = parseSingleValue(pidsText);
    return { kind: 'ok', cpu, memory, blockIo, pids };
  }
}
