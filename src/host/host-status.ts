/**
 * The `/v1/host` document: what the control plane asks of a host — identity, OS, CPU, memory,
 * disks, Docker state, the agent itself. systeminformation shells out for some figures (df) and
 * measures CPU load between calls, so results are cached briefly: two callers within `cacheMs`
 * share one sample, and a burst of API calls costs one.
 */
import os from 'node:os';
import si from 'systeminformation';
import { byCodeUnit } from '../core/compare.ts';
import type { ContainerInventory } from '../docker/inventory.ts';
import type { DockerWatcher } from '../docker/watcher.ts';

export interface HostStatusOptions {
  watcher: DockerWatcher;
  inventory: ContainerInventory;
  version: string;
  startedAt: number;
  configSource: string;
  /** Mount points reported first (Docker root, log directory, state dir): the disks that matter. */
  importantPaths: () => string[];
  cacheMs?: number;
}

interface StaticFacts {
  os: si.Systeminformation.OsData;
  cpu: si.Systeminformation.CpuData;
}

export class HostStatusReporter {
  readonly #o: HostStatusOptions;
  #static: Promise<StaticFacts> | undefined;
  #cached: { at: number; value: Promise<Record<string, unknown>> } | undefined;

  constructor(options: HostStatusOptions) {
    this.#o = options;
  }

  /** Primes the slow first samples (CPU load needs a baseline) so the first API call is fast. */
  warm(): void {
    void this.status().catch(() => undefined);
  }

  status(): Promise<Record<string, unknown>> {
    const now = Date.now();
    if (this.#cached && now - this.#cached.at < (this.#o.cacheMs ?? 5000)) return this.#cached.value;
    const value = this.#collect();
    this.#cached = { at: now, value };
    value.catch(() => {
      if (this.#cached?.value === value) this.#cached = undefined; // do not cache a failure
    });
    return value;
  }

  async #collect(): Promise<Record<string, unknown>> {
    this.#static ??= Promise.all([si.osInfo(), si.cpu()]).then(([o, c]) => ({ os: o, cpu: c }));
    const [facts, mem, load, disks, nets, dockerInfo] = await Promise.all([
      this.#static,
      si.mem(),
      si.currentLoad(),
      si.fsSize(),
      si.networkInterfaces(),
      this.#o.watcher.info(),
    ]);
    const important = this.#o.importantPaths();
    const watcher = this.#o.watcher;
    const engine = watcher.engine;
    const ifaces = Array.isArray(nets) ? nets : [nets];
    const [load1, load5, load15] = os.loadavg();
    return {
      hostname: os.hostname(),
      ips: ifaces.filter((n) => !n.internal).flatMap((n) => [n.ip4, n.ip6].filter((ip) => ip)),
      os: {
        platform: facts.os.platform,
        distro: facts.os.distro,
        release: facts.os.release,
        kernel: facts.os.kernel,
        arch: facts.os.arch,
      },
      cpu: {
        model: `${facts.cpu.manufacturer} ${facts.cpu.brand}`.trim(),
        cores: facts.cpu.cores,
        usagePercent: round(load.currentLoad),
        load: [load1, load5, load15].map((x) => round(x ?? 0)),
      },
      memory: {
        totalBytes: mem.total,
        usedBytes: mem.active,
        availableBytes: mem.available,
        swapTotalBytes: mem.swaptotal,
        swapUsedBytes: mem.swapused,
      },
      disks: disks
        .map((d) => ({
          mount: d.mount,
          device: d.fs,
          type: d.type,
          sizeBytes: d.size,
          usedBytes: d.used,
          availableBytes: d.available,
          usePercent: round(d.use),
          holds: important.filter((p) => containingMount(p, disks.map((x) => x.mount)) === d.mount),
        }))
        .sort((a, b) => b.holds.length - a.holds.length || byCodeUnit(a.mount, b.mount)),
      uptimeSeconds: Math.round(os.uptime()),
      docker: {
        state: watcher.state,
        reachable: dockerInfo !== undefined,
        lastError: watcher.lastError || null,
        reconnects: watcher.reconnects,
        version: engine?.version ?? null,
        apiVersion: engine?.apiVersion ?? null,
        storageDriver: engine?.storageDriver ?? null,
        cgroupDriver: engine?.cgroupDriver ?? null,
        cgroupVersion: engine?.cgroupVersion ?? null,
        rootDir: engine?.rootDir ?? null,
        containers: dockerInfo
          ? {
              total: dockerInfo.Containers,
              running: dockerInfo.ContainersRunning,
              paused: dockerInfo.ContainersPaused,
              stopped: dockerInfo.ContainersStopped,
            }
          : null,
        images: dockerInfo?.Images ?? null,
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
      },
    };
  }
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
