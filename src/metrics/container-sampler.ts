/**
 * Reads every running container's figures in one sweep: cgroup files (v1 or v2, picked once at
 * start) plus /proc/<pid>/net/dev, synchronously and in chunks so the event loop keeps serving
 * the API between them. A container that vanished mid-sweep is skipped, not an error. Where the
 * cgroup files cannot be read (permissions, a cgroup outside what the agent's mount shows) the
 * container moves to the Docker stats API (one-shot) and stays there until it restarts.
 *
 * The sampler keeps each container's last few samples: the API's rates (CPU %, bytes/s) come
 * from them, whatever the source (the one-shot stats API has no previous reading of its own).
 */
import type Docker from 'dockerode';
import type { Logger } from 'pino';
import { parseProcCgroup } from '../docker/cgroup-path.ts';
import type { ContainerRecord } from '../docker/types.ts';
import { errorMessage } from '../core/errors.ts';
import { BlockDeviceNames } from './block-devices.ts';
import { KernelFileReader, isFailure } from './cgroup/file-reader.ts';
import type { CgroupLayout } from './cgroup/layout.ts';
import type { BlockIoCounters } from './cgroup/parse.ts';
import type { CgroupReadResult, ContainerFiles } from './cgroup/read-result.ts';
import { newContainerFiles } from './cgroup/read-result.ts';
import { CgroupV1Reader } from './cgroup/v1.ts';
import { CgroupV2Reader } from './cgroup/v2.ts';
import { InterfaceFilter, parseNetDev } from '../host/proc-net.ts';
import { computeRates } from './rates.ts';
import { fetchOneShotStats, sampleFromStats } from './stats-api.ts';
import type { BlockDeviceFigures, ContainerRates, ContainerSample, NetworkInterfaceFigures, SampleSource } from './types.ts';

/** Containers read between two yields to the event loop (50–100 µs each: a few ms per chunk). */
const CHUNK = 50;
/** Files found missing are retried after this long (a controller enabled later, a transient EACCES). */
const SKIP_RETRY_MS = 10 * 60_000;
const STATS_API_CONCURRENCY = 4;
/** Shortest window rates are computed over, when samples allow it. */
const MIN_RATE_WINDOW_MS = 1000;
/** Samples kept per container to find a rate base (scrapes may come faster than once a second). */
const HISTORY = 4;

export interface ContainerSamplerOptions {
  layout: CgroupLayout;
  procRoot: string;
  excludeInterfaces: readonly string[];
  /** Fallback source; null = no fallback (containers with unreadable cgroups are left out). */
  docker: Docker | null;
  statsApiTimeoutMs: number;
  hostMemoryBytes: number;
  logger: Logger;
  now?: () => number;
}

export interface SweepResult {
  at: number;
  sampled: Record<SampleSource, number>;
  /** Containers that stopped or were removed during the sweep. */
  vanished: number;
  /** Containers whose figures could not be read from any source. */
  failed: number;
  /** CPU time of the synchronous reading (user + system), ms. */
  cpuMs: number;
  wallMs: number;
}

interface Tracked {
  pid: number;
  cgroupPath: string;
  files: ContainerFiles;
  skipSince: number;
  /** Why this container is read through the stats API; undefined = cgroup files. */
  statsApiReason: string | undefined;
  last: ContainerSample | undefined;
  /** The last few samples, oldest first (the rate base is picked from them). */
  history: ContainerSample[];
  rates: ContainerRates | undefined;
}

/** Network namespaces that are not the container's own: the host's, or another container's. */
export function hasOwnNetwork(networkMode: string): boolean {
  return networkMode !== 'host' && !networkMode.startsWith('container:');
}

export class ContainerSampler {
  readonly #o: ContainerSamplerOptions;
  readonly #files = new KernelFileReader();
  readonly #cgroup: { read(path: string, files: ContainerFiles): CgroupReadResult } | undefined;
  readonly #interfaces: InterfaceFilter;
  readonly #devices: BlockDeviceNames;
  readonly #tracked = new Map<string, Tracked>();
  readonly #now: () => number;

  constructor(options: ContainerSamplerOptions) {
    this.#o = options;
    this.#now = options.now ?? Date.now;
    const layout = options.layout;
    this.#cgroup =
      layout.version === 1 ? new CgroupV1Reader(layout, this.#files) : layout.version === 2 ? new CgroupV2Reader(layout, this.#files) : undefined;
    this.#interfaces = new InterfaceFilter(options.excludeInterfaces);
    this.#devices = new BlockDeviceNames(options.procRoot, this.#files);
  }

  /** Kernel files read and failed since start, and descriptors held open now. */
  get fileCounts(): { reads: number; failures: number; held: number } {
    return { reads: this.#files.reads, failures: this.#files.failures, held: this.#files.held };
  }

  /** Closes every held descriptor (the agent is stopping). */
  close(): void {
    for (const t of this.#tracked.values()) this.#files.closeAll(t.files.held);
    this.#tracked.clear();
  }

  latest(id: string): ContainerSample | undefined {
    return this.#tracked.get(id)?.last;
  }

  rates(id: string): ContainerRates | undefined {
    return this.#tracked.get(id)?.rates;
  }

  /** Samples the running (and paused) containers among `records`; forgets the others. */
  async sweep(records: readonly ContainerRecord[]): Promise<SweepResult> {
    const started = performance.now();
    const at = this.#now();
    const live = records.filter((r) => r.pid > 0 && (r.state === 'running' || r.state === 'paused'));
    const liveIds = new Set(live.map((r) => r.id));
    for (const [id, t] of this.#tracked) {
      if (liveIds.has(id)) continue;
      this.#files.closeAll(t.files.held);
      this.#tracked.delete(id);
    }

    const result: SweepResult = { at, sampled: { cgroup: 0, 'stats-api': 0 }, vanished: 0, failed: 0, cpuMs: 0, wallMs: 0 };
    const viaApi: { record: ContainerRecord; tracked: Tracked }[] = [];
    for (let i = 0; i < live.length; i += CHUNK) {
      if (i > 0) await new Promise<void>((resolve) => setImmediate(resolve));
      const cpu0 = process.cpuUsage();
      for (const record of live.slice(i, i + CHUNK)) {
        const tracked = this.#track(record, at);
        if (tracked.statsApiReason !== undefined) {
          viaApi.push({ record, tracked });
          continue;
        }
        const outcome = this.#readCgroup(record, tracked, at);
        if (outcome === 'sampled') result.sampled.cgroup++;
        else if (outcome === 'vanished') result.vanished++;
        else viaApi.push({ record, tracked });
      }
      const cpu = process.cpuUsage(cpu0);
      result.cpuMs += (cpu.user + cpu.system) / 1000;
    }
    if (viaApi.length > 0) await this.#readStatsApi(viaApi, result);
    result.wallMs = performance.now() - started;
    return result;
  }

  #track(record: ContainerRecord, now: number): Tracked {
    let t = this.#tracked.get(record.id);
    if (t === undefined || t.pid !== record.pid) {
      // New, or restarted: a new cgroup whose counters start again from zero.
      if (t) this.#files.closeAll(t.files.held);
      t = { pid: record.pid, cgroupPath: record.cgroupPath, files: newContainerFiles(), skipSince: now, statsApiReason: undefined, last: undefined, history: [], rates: undefined };
      if (this.#cgroup === undefined) t.statsApiReason = 'no cgroup hierarchy found';
      this.#tracked.set(record.id, t);
    } else if (now - t.skipSince >= SKIP_RETRY_MS) {
      t.files.skip.clear();
      t.skipSince = now;
    }
    return t;
  }

  #readCgroup(record: ContainerRecord, tracked: Tracked, at: number): 'sampled' | 'vanished' | 'fallback' {
    const reader = this.#cgroup;
    if (reader === undefined) return 'fallback';
    let res = reader.read(tracked.cgroupPath, tracked.files);
    if (res.kind === 'gone') {
      // Either the container stopped (its process is gone too) or the recorded path is stale.
      const procCgroup = this.#files.read(`${this.#o.procRoot}/${record.pid}/cgroup`);
      if (isFailure(procCgroup)) return 'vanished';
      const path = parseProcCgroup(procCgroup);
      // A recycled pid belongs to some other process: accept only a path naming this container.
      if (path === undefined || path === tracked.cgroupPath || !path.includes(record.id)) {
        return this.#toStatsApi(record, tracked, `cgroup ${res.path} not found while the container runs`);
      }
      tracked.cgroupPath = path;
      this.#files.closeAll(tracked.files.held);
      tracked.files = newContainerFiles();
      res = reader.read(path, tracked.files);
      if (res.kind === 'gone') return 'vanished';
    }
    if (res.kind === 'unreadable') return this.#toStatsApi(record, tracked, `${res.path}: ${res.error}`);

    let network: NetworkInterfaceFigures[] | null = null;
    if (hasOwnNetwork(record.networkMode)) {
      const text = this.#files.read(`${this.#o.procRoot}/${record.pid}/net/dev`);
      if (!isFailure(text)) network = parseNetDev(text, this.#interfaces);
    }
    this.#store(tracked, {
      id: record.id,
      at,
      source: 'cgroup',
      cpu: res.cpu,
      memory: res.memory,
      network,
      blockIo: res.blockIo === null ? null : this.#named(res.blockIo, at),
      pids: res.pids,
    });
    return 'sampled';
  }

  #named(counters: readonly BlockIoCounters[], now: number): BlockDeviceFigures[] {
    return counters.map((c) => ({ ...c, device: this.#devices.name(c.major, c.minor, now) }));
  }

  #toStatsApi(record: ContainerRecord, tracked: Tracked, reason: string): 'fallback' {
    tracked.statsApiReason = reason;
    this.#o.logger.warn(
      { container: record.name, id: record.id.slice(0, 12), reason, fallback: this.#o.docker ? 'docker stats API (one-shot)' : 'none' },
      'container cgroup not readable; using the Docker stats API for it',
    );
    return 'fallback';
  }

  async #readStatsApi(items: { record: ContainerRecord; tracked: Tracked }[], result: SweepResult): Promise<void> {
    const docker = this.#o.docker;
    if (docker === null) {
      result.failed += items.length;
      return;
    }
    let next = 0;
    const worker = async (): Promise<void> => {
      while (next < items.length) {
        const { record, tracked } = items[next++] as { record: ContainerRecord; tracked: Tracked };
        try {
          const json = await fetchOneShotStats(docker, record.id, this.#o.statsApiTimeoutMs);
          if (json === 'gone') {
            result.vanished++;
            continue;
          }
          const at = this.#now();
          this.#store(
            tracked,
            sampleFromStats(record.id, json, at, {
              hostMemoryBytes: this.#o.hostMemoryBytes,
              deviceName: (major, minor) => this.#devices.name(major, minor, at),
              interfaces: this.#interfaces,
              ownNetwork: hasOwnNetwork(record.networkMode),
            }),
          );
          result.sampled['stats-api']++;
        } catch (err) {
          result.failed++;
          this.#o.logger.debug({ container: record.name, err: errorMessage(err) }, 'Docker stats API failed');
        }
      }
    };
    await Promise.all(Array.from({ length: Math.min(STATS_API_CONCURRENCY, items.length) }, worker));
  }

  /**
   * Rates come from the newest earlier sample at least MIN_RATE_WINDOW_MS older (else the oldest
   * kept): two scrapes a few milliseconds apart would otherwise make a rate of noise.
   */
  #store(tracked: Tracked, sample: ContainerSample): void {
    const earlier = tracked.history;
    let base: ContainerSample | undefined;
    for (let i = earlier.length - 1; i >= 0 && base === undefined; i--) {
      const s = earlier[i] as ContainerSample;
      if (sample.at - s.at >= MIN_RATE_WINDOW_MS) base = s;
    }
    base ??= earlier[0];
    tracked.rates = base ? computeRates(base, sample) : undefined;
    earlier.push(sample);
    if (earlier.length > HISTORY) earlier.shift();
    tracked.last = sample;
  }
}
