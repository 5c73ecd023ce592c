/**
 * Host figures, sampled once and served twice: the `/v1/host` document the control plane reads
 * (identity, OS, CPU, memory, disks, network, Docker state, the agent itself) and the host series
 * on /metrics (src/metrics/host-exposition.ts). CPU usage is measured between samples, so samples
 * are cached briefly: callers within `cacheMs` share one, and a burst of API calls or two
 * Prometheus scrapers cost one.
 *
 * Everything is read from the kernel's files and Node's os module, nothing is spawned (a
 * --cpu-prof of the agent with 200 containers once showed systeminformation's child processes as
 * its largest single cost at a scrape every 15 s; src/host/host-facts.ts says why it is gone):
 * - CPU usage comes from os.cpus() deltas between samples (/proc/stat);
 * - network counters come from /proc/<pid>/net/dev of the host's init process;
 * - the host's IP addresses come from os.networkInterfaces();
 * - file systems (the mount table and statfs) change slowly and are refreshed every 30 s.
 */
import { readFileSync } from 'node:fs';
import os from 'node:os';
import { byCodeUnit } from '../core/compare.ts';
import type { StateFileStatus } from '../core/state-file.ts';
import type { ContainerInventory } from '../docker/inventory.ts';
import type { DockerWatcher } from '../docker/watcher.ts';
import { cpuModelName, parseMeminfo, readFileSystems, readOsFacts } from './host-facts.ts';
import type { FileSystemFacts, OsFacts } from './host-facts.ts';
import { InterfaceFilter, parseNetDev } from './proc-net.ts';
import type { NetworkInterfaceFigures } from './proc-net.ts';

export interface HostStatusOptions {
  watcher: DockerWatcher;
  inventory: ContainerInventory;
  version: string;
  startedAt: number;
  configSource: string;
  /** Mount points reported first (Docker root, log directory, state dir): the disks that matter. */
  importantPaths: () => string[];
  /** Log pipeline state (queue, in flight, outputs, last ACK); null when log shipping is not running. */
  pipeline: () => Record<string, unknown> | null;
  /** The last configuration reload (what it applied, what waits for a restart); null before the first. */
  lastReload?: () => unknown;
  /** Write state of the files under state_dir (log offsets, health state). */
  stateFiles?: () => StateFileStatus[];
  cacheMs?: number;
  /** Where the host's /proc is (`metrics.proc_root`). */
  procRoot?: string;
  /** Host interfaces left out of the network figures (`metrics.host_exclude_interfaces`). */
  excludeInterfaces?: readonly string[];
}

export interface HostFilesystem {
  mount: string;
  device: string;
  type: string;
  sizeBytes: number;
  usedBytes: number;
  availableBytes: number;
  usePercent: number;
  readOnly: boolean;
  /** Important paths (Docker root, log roots, state dir) on this file system. */
  holds: string[];
}

export interface HostInterface extends NetworkInterfaceFigures {
  rxBytesPerSecond: number | null;
  txBytesPerSecond: number | null;
}

/** Docker's own counts (`docker info`); undefined while Docker is unreachable. */
export interface DockerCounts {
  containers: number;
  running: number;
  paused: number;
  stopped: number;
  images: number;
}

export interface HostSample {
  at: number;
  hostname: string;
  os: { platform: string; distro: string; release: string; kernel: string; arch: string };
  cpu: {
    model: string;
    cores: number;
    usagePercent: number;
    load: [number, number, number];
    /** Per logical CPU, cumulative seconds by mode (os.cpus(): /proc/stat). */
    times: { user: number; nice: number; system: number; idle: number; irq: number }[];
  };
  memory: {
    totalBytes: number;
    freeBytes: number;
    availableBytes: number;
    usedBytes: number;
    buffersBytes: number;
    cachedBytes: number;
    swapTotalBytes: number;
    swapFreeBytes: number;
    swapUsedBytes: number;
  };
  filesystems: HostFilesystem[];
  network: HostInterface[];
  ips: string[];
  bootTimeSeconds: number;
  uptimeSeconds: number;
  docker: DockerCounts | undefined;
}

const FS_REFRESH_MS = 30_000;
const IGNORED_FS_TYPES: ReadonlySet<string> = new Set(['overlay', 'squashfs', 'erofs', 'nsfs', 'autofs', 'fuse.lxcfs']);

type CpuTimes = HostSample['cpu']['times'];

/** Busy share of all CPUs between two os.cpus() readings, percent. */
export function cpuBusyPercent(before: CpuTimes, after: CpuTimes): number {
  let busy = 0;
  let total = 0;
  after.forEach((a, i) => {
    const b = before[i] ?? { user: 0, nice: 0, system: 0, idle: 0, irq: 0 };
    const idle = a.idle - b.idle;
    const work = a.user - b.user + (a.nice - b.nice) + (a.system - b.system) + (a.irq - b.irq);
    busy += work;
    total += work + idle;
  });
  return total > 0 ? (busy / total) * 100 : 0;
}

export class HostStatusReporter {
  readonly #o: HostStatusOptions;
  readonly #interfaces: InterfaceFilter;
  #os: OsFacts | undefined;
  #cached: { at: number; value: Promise<HostSample> } | undefined;
  #disks: { at: number; value: Promise<FileSystemFacts[]> } | undefined;
  #previousCpu: CpuTimes | undefined;
  #previousNet: { at: number; byName: Map<string, NetworkInterfaceFigures> } | undefined;

  constructor(options: HostStatusOptions) {
    this.#o = options;
    this.#interfaces = new InterfaceFilter(options.excludeInterfaces ?? []);
  }

  /** Primes the slow first samples (CPU load needs a baseline) so the first API call is fast. */
  warm(): void {
    void this.sample().catch(() => undefined);
  }

  /** The latest host sample, at most `cacheMs` old. */
  sample(): Promise<HostSample> {
    const now = Date.now();
    if (this.#cached && now - this.#cached.at < (this.#o.cacheMs ?? 5000)) return this.#cached.value;
    const value = this.#collect();
    this.#cached = { at: now, value };
    value.catch(() => {
      if (this.#cached?.value === value) this.#cached = undefined; // do not cache a failure
    });
    return value;
  }

  /** The `/v1/host` document. */
  async status(): Promise<Record<string, unknown>> {
    const s = await this.sample();
    const watcher = this.#o.watcher;
    const engine = watcher.engine;
    return {
      hostname: s.hostname,
      ips: s.ips,
      os: s.os,
      cpu: { model: s.cpu.model, cores: s.cpu.cores, usagePercent: s.cpu.usagePercent, load: s.cpu.load },
      memory: {
        totalBytes: s.memory.totalBytes,
        usedBytes: s.memory.usedBytes,
        availableBytes: s.memory.availableBytes,
        buffersBytes: s.memory.buffersBytes,
        cachedBytes: s.memory.cachedBytes,
        swapTotalBytes: s.memory.swapTotalBytes,
        swapUsedBytes: s.memory.swapUsedBytes,
      },
      disks: s.filesystems.map((d) => ({
        mount: d.mount,
        device: d.device,
        type: d.type,
        sizeBytes: d.sizeBytes,
        usedBytes: d.usedBytes,
        availableBytes: d.availableBytes,
        usePercent: d.usePercent,
        holds: d.holds,
      })),
      network: s.network,
      uptimeSeconds: s.uptimeSeconds,
      docker: {
        state: watcher.state,
        reachable: s.docker !== undefined,
        lastError: watcher.lastError || null,
        reconnects: watcher.reconnects,
        version: engine?.version ?? null,
        apiVersion: engine?.apiVersion ?? null,
        storageDriver: engine?.storageDriver ?? null,
        cgroupDriver: engine?.cgroupDriver ?? null,
        cgroupVersion: engine?.cgroupVersion ?? null,
        rootDir: engine?.rootDir ?? null,
        containers: s.docker ? { total: s.docker.containers, running: s.docker.running, paused: s.docker.paused, stopped: s.docker.stopped } : null,
        images: s.docker?.images ?? null,
        inventorySize: this.#o.inventory.size,
      },
      agent: {
        version: this.#o.version,
        node: process.version,
        pid: process.pid,
        startedAt: new Date(this.#o.startedAt).toISOString(),
        uptimeSeconds: Math.round((Date.now() - this.#o.startedAt) / 1000),
        rssBytes: process.memoryUsage.rss(),
        configSource: this.#o.configSource,
        lastReload: this.#o.lastReload?.() ?? null,
      },
      pipeline: this.#o.pipeline(),
      stateFiles: this.#o.stateFiles?.() ?? [],
    };
  }

  async #collect(): Promise<HostSample> {
    const osFacts = (this.#os ??= readOsFacts());
    const [disks, dockerInfo] = await Promise.all([this.#fileSystems(), this.#o.watcher.info()]);
    const mem = parseMeminfo(readFileSync('/proc/meminfo', 'latin1'));
    const ips = this.#hostIps();
    const cpus = os.cpus();
    const times: CpuTimes = cpus.map((c) => ({ user: c.times.user / 1000, nice: c.times.nice / 1000, system: c.times.sys / 1000, idle: c.times.idle / 1000, irq: c.times.irq / 1000 }));
    const usagePercent = cpuBusyPercent(this.#previousCpu ?? [], times);
    this.#previousCpu = times;
    const at = Date.now();
    // The live `docker info` names the data root too: a sample taken as the watcher connects
    // (it reads the engine's facts after opening the event stream) still places Docker's root.
    const liveRoot = typeof dockerInfo?.DockerRootDir === 'string' ? dockerInfo.DockerRootDir : '';
    const rootDir = this.#o.watcher.engine?.rootDir || liveRoot;
    const important = [...new Set([...this.#o.importantPaths(), rootDir])].filter((p) => p);
    // Containers' root file systems and shm mounts live under Docker's root: one per container,
    // nothing an operator sizes. node_exporter leaves out the same (/var/lib/docker/.+, and
    // overlay/squashfs/erofs/nsfs file system types: other runtimes' and snaps' mounts).
    const hostDisks = disks.filter((d) => !IGNORED_FS_TYPES.has(d.type) && !(rootDir && d.mount.startsWith(`${rootDir}/`)));
    const [load1, load5, load15] = os.loadavg();
    const uptime = os.uptime();
    return {
      at,
      hostname: os.hostname(),
      ips,
      os: osFacts,
      cpu: {
        model: cpuModelName(cpus[0]?.model ?? ''),
        cores: cpus.length,
        usagePercent: round(usagePercent),
        load: [round(load1 ?? 0), round(load5 ?? 0), round(load15 ?? 0)],
        times,
      },
      memory: {
        totalBytes: mem.total,
        freeBytes: mem.free,
        availableBytes: mem.available,
        usedBytes: mem.used,
        buffersBytes: mem.buffers,
        cachedBytes: mem.cached,
        swapTotalBytes: mem.swapTotal,
        swapFreeBytes: mem.swapFree,
        swapUsedBytes: mem.swapUsed,
      },
      filesystems: hostDisks
        .map((d) => ({
          mount: d.mount,
          device: d.device,
          type: d.type,
          sizeBytes: d.size,
          usedBytes: d.used,
          availableBytes: d.available,
          usePercent: round(d.usePercent),
          readOnly: d.readOnly,
          holds: important.filter((p) => containingMount(p, hostDisks.map((x) => x.mount)) === d.mount),
        }))
        .sort((a, b) => b.holds.length - a.holds.length || byCodeUnit(a.mount, b.mount)),
      network: this.#network(at),
      bootTimeSeconds: Math.round(at / 1000 - uptime),
      uptimeSeconds: Math.round(uptime),
      docker: dockerInfo ? dockerCounts(dockerInfo) : undefined,
    };
  }

  /** The host's interfaces (its init process's network namespace), with rates since the last sample. */
  #network(at: number): HostInterface[] {
    const procRoot = this.#o.procRoot ?? '/proc';
    let text: string | undefined;
    for (const file of [`${procRoot}/1/net/dev`, '/proc/net/dev']) {
      try {
        text = readFileSync(file, 'latin1');
        break;
      } catch {
        // /proc/1 of another pid namespace may be hidden; the agent's own namespace is the next best
      }
    }
    const current = text === undefined ? [] : parseNetDev(text, this.#interfaces);
    const previous = this.#previousNet;
    this.#previousNet = { at, byName: new Map(current.map((n) => [n.name, n])) };
    const seconds = previous ? (at - previous.at) / 1000 : 0;
    return current.map((n) => {
      const before = previous?.byName.get(n.name);
      const rate = (now: number, then: number | undefined): number | null =>
        then === undefined || seconds <= 0 || now < then ? null : round((now - then) / seconds);
      return { ...n, rxBytesPerSecond: rate(n.rxBytes, before?.rxBytes), txBytesPerSecond: rate(n.txBytes, before?.txBytes) };
    });
  }

  #fileSystems(): Promise<FileSystemFacts[]> {
    const now = Date.now();
    if (this.#disks && now - this.#disks.at < FS_REFRESH_MS) return this.#disks.value;
    const value = readFileSystems();
    this.#disks = { at: now, value };
    value.catch(() => {
      if (this.#disks?.value === value) this.#disks = undefined;
    });
    return value;
  }

  /** Non-internal addresses, IPv4 first per interface (link-local IPv6 included, as before). */
  #hostIps(): string[] {
    return Object.values(os.networkInterfaces()).flatMap((addrs) =>
      (addrs ?? []).filter((a) => !a.internal).sort((a, b) => (a.family === b.family ? 0 : a.family === 'IPv4' ? -1 : 1)).map((a) => a.address),
    );
  }
}

function dockerCounts(info: Record<string, unknown>): DockerCounts {
  const n = (v: unknown): number => (typeof v === 'number' ? v : 0);
  return { containers: n(info.Containers), running: n(info.ContainersRunning), paused: n(info.ContainersPaused), stopped: n(info.ContainersStopped), images: n(info.Images) };
}

function round(x: number): number {
  return Math.round(x * 100) / 100;
}

/** Longest mount point that is a prefix of `path`. */
function containingMount(path: string, mounts: string[]): string | undefined {
  let best: string | undefined;
  for (const m of mounts) {
    const prefix = m.endsWith('/') ? m : `${m}/`;
    if ((path === m || path.startsWith(prefix)) && (!best || m.length > best.length)) best = m;
  }
  return best;
}
