/**
 * Zabbix's side of the metrics: low-level discovery (LLD) documents for containers, log files and
 * probes in the classic `{"data":[{"{#MACRO}":"value"}]}` shape every Zabbix since 2.0 reads, a
 * JSON document per container that the template's dependent items pick apart with JSONPath,
 * and an agent document (Docker connection, log shipping, probes) for host-level triggers.
 * The template using them is zabbix/dockhand-template.yaml.
 *
 * Zabbix items must always get a number, so these documents say 0 where the API says null (a
 * stopped container's CPU, a figure the cgroup version lacks); `running`, `exitCode` and
 * `lastSeen` tell a stopped container from an idle one. They were checked against a real Zabbix
 * 6.0 server (test/integration/zabbix.test.ts): what Zabbix does with a value, an error or an
 * empty discovery decided the details below (why `staleSeconds`, the 503 before the container list
 * is complete, the linger of a container's document after keep_stopped).
 *
 * Log files, container output streams and probes belong to other capabilities: they register a
 * snapshot function here (setLogSource / setProbeSource); without one the lists are empty and
 * `enabled` is 0.
 */
import { DockhandError } from '../core/errors.ts';
import type { ContainerInventory } from '../docker/inventory.ts';
import type { RouteDefinition } from '../api/routes.ts';
import type { ExportedContainer } from './container-exposition.ts';
import type { ContainerLifecycle } from './lifecycle.ts';
import { LINGER_MS } from './lifecycle.ts';
import { blockTotals, networkTotals } from './rates.ts';
import type { ContainerRates, ContainerSample } from './types.ts';

/** What the log shipper shows Zabbix (an adapter over its status and /v1/logs view). */
export interface LogShippingSnapshot {
  /** Unix ms since when shipping has made no progress while events wait; null = not stalled. */
  stalledSince: number | null;
  /** Unix ms of the last acknowledgement from Logstash; null = none yet. */
  lastAckAt: number | null;
  queuedEvents: number;
  files: {
    path: string;
    dataset: string;
    /** The parsed file name (docs/logs.md): `logType`, `app`, `env`, …; null when it does not parse. */
    metadata: Record<string, string> | null;
    state: string;
    lagBytes: number;
    container: { name: string } | null;
  }[];
  /** Containers whose stdout/stderr is (or was) followed (container_logs), as /v1/logs lists them. */
  containers: {
    id: string;
    name: string;
    /** waiting, streaming, ended or unreadable. */
    state: string;
    /** Docker messages read and not yet acknowledged. */
    pendingMessages: number;
  }[];
}

/** What the health prober shows Zabbix for one probe. */
export interface ProbeSnapshot {
  containerId: string;
  containerName: string;
  type: string;
  target: string;
  ok: boolean;
  state: string;
  consecutiveFailures: number;
  latencyMs: number | null;
}

export interface ZabbixSources {
  /**
   * Running, and stopped or removed within keep_stopped; with `lingerMs`, also those past
   * keep_stopped by less than that.
   */
  exported(lingerMs?: number): ExportedContainer[];
  /**
   * True once the container list is complete: the inventory was reconciled with Docker and the
   * sampler has swept it since. Absent = always complete (fixtures).
   */
  complete?(): boolean;
  /**
   * Completes the list now if it can (a sweep once the inventory is reconciled), so a discovery
   * right after the agent started waits for it instead of answering 503 until the next sweep.
   */
  completeNow?(): Promise<void>;
  rates(id: string): ContainerRates | undefined;
  lifecycle(id: string): ContainerLifecycle | undefined;
  inventory: ContainerInventory;
  docker(): { state: string; reconnects: number };
  lastSweepAt(): number | null;
  version: string;
  startedAt: number;
  now?: () => number;
}

type LldRow = Record<string, string>;

/** `{#CONTAINER.LABEL.<KEY>}`: Zabbix macro names allow A–Z, 0–9, `_` and `.`. */
export function labelMacro(key: string): string {
  return `{#CONTAINER.LABEL.${key.toUpperCase().replace(/[^A-Z0-9_.]/g, '_')}}`;
}

const RUNNING: ReadonlySet<string> = new Set(['running', 'paused', 'restarting']);

function n(v: number | null | undefined): number {
  return v === null || v === undefined || !Number.isFinite(v) ? 0 : v;
}

function seconds(msOrNull: number | null): number {
  return msOrNull === null ? 0 : Math.floor(msOrNull / 1000);
}

/**
 * When the container was last known to run, in unix ms: the sampler's last sight of it, else what
 * Docker says (still running since its start; stopped at its finish). A container that ended
 * before the agent's first sweep — OOM-killed at start, say — was never sampled, and 0 would show
 * in Zabbix as 1970.
 */
function lastKnownRunning(l: ContainerLifecycle): number | null {
  if (l.lastSeen !== null) return l.lastSeen;
  if (RUNNING.has(l.state)) return l.startedAt;
  return l.finishedAt ?? l.removedAt ?? l.startedAt;
}

export class ZabbixEndpoints {
  readonly #s: ZabbixSources;
  #labelKeys: readonly string[];
  #logs: (() => LogShippingSnapshot) | undefined;
  #probes: (() => ProbeSnapshot[]) | undefined;

  constructor(sources: ZabbixSources, labelAllowList: readonly string[]) {
    this.#s = sources;
    this.#labelKeys = labelAllowList;
  }

  /** `metrics.container_labels` after a configuration reload: discovery macros follow at once. */
  setContainerLabels(keys: readonly string[]): void {
    this.#labelKeys = keys;
  }

  setLogSource(source: () => LogShippingSnapshot): void {
    this.#logs = source;
  }

  setProbeSource(source: () => ProbeSnapshot[]): void {
    this.#probes = source;
  }

  #now(): number {
    return (this.#s.now ?? Date.now)();
  }

  /**
   * The template deletes what discovery stops listing at once (it mirrors keep_stopped), so an
   * incomplete list — an agent just started, Docker not reconciled yet — must not look like an
   * empty one: it is a 503, and Zabbix keeps what it has until the next discovery.
   */
  #requireComplete(what: string): void {
    if (this.#s.complete && !this.#s.complete()) {
      throw new DockhandError('UNAVAILABLE', `${what} is not complete yet: the agent has not reconciled its inventory with Docker and sampled it since`, { transient: true });
    }
  }

  containerDiscovery(): { data: LldRow[] } {
    this.#requireComplete('the container list');
    return {
      data: this.#s.exported().map(({ lifecycle: l }) => {
        const row: LldRow = {
          '{#CONTAINER.ID}': l.id,
          '{#CONTAINER.SHORTID}': l.id.slice(0, 12),
          '{#CONTAINER.NAME}': l.name,
          '{#CONTAINER.IMAGE}': l.image,
          '{#CONTAINER.HEALTHCHECK}': l.health === 'none' ? '0' : '1',
        };
        for (const key of this.#labelKeys) row[labelMacro(key)] = l.labels[key] ?? '';
        return row;
      }),
    };
  }

  /**
   * By id, name or unique id prefix (≥ 4); a live container wins over a removed one of the same name.
   * Containers past keep_stopped are still found for LINGER_MS: discovery has dropped them, but
   * Zabbix polls their items until its next discovery deletes them, and a 404 would turn every
   * one of them "not supported" meanwhile.
   */
  #find(ref: string): ExportedContainer | undefined {
    const all = this.#s.exported(LINGER_MS);
    const byRank = (c: ExportedContainer): number => (c.lifecycle.state === 'removed' ? 1 : 0);
    const exact = all.filter((c) => c.lifecycle.id === ref || c.lifecycle.name === ref.replace(/^\//, '')).sort((a, b) => byRank(a) - byRank(b));
    if (exact[0]) return exact[0];
    if (ref.length >= 4 && /^[0-9a-f]+$/.test(ref)) {
      const matches = all.filter((c) => c.lifecycle.id.startsWith(ref));
      if (matches.length > 1) throw new DockhandError('BAD_REQUEST', `container id prefix "${ref}" is ambiguous`);
      if (matches[0]) return matches[0];
    }
    return undefined;
  }

  containerDocument(ref: string): Record<string, unknown> {
    const found = this.#find(ref);
    if (!found) {
      const known = this.#s.inventory.find(ref);
      const why = known ? `container "${ref}" stopped more than metrics.keep_stopped ago` : `no container matches "${ref}"`;
      throw new DockhandError('NOT_FOUND', why);
    }
    const l = found.lifecycle;
    const s: ContainerSample | undefined = found.sample;
    const r = s ? this.#s.rates(l.id) : undefined;
    const net = s ? networkTotals(s.network) : null;
    const blk = s ? blockTotals(s.blockIo) : null;
    const limit = n(s?.memory.limitBytes);
    const workingSet = n(s?.memory.workingSetBytes);
    return {
      id: l.id,
      name: l.name,
      image: l.image,
      state: l.state,
      running: RUNNING.has(l.state) ? 1 : 0,
      health: l.health,
      healthy: l.health === 'healthy' || l.health === 'none' ? 1 : 0,
      startedAt: seconds(l.startedAt),
      finishedAt: seconds(l.finishedAt),
      lastSeen: seconds(lastKnownRunning(l)),
      exitCode: n(l.exitCode),
      oomKilled: l.oomKilled ? 1 : 0,
      oomEvents: l.oomEvents,
      restartCount: l.restartCount,
      cpu: {
        percent: n(r?.cpuPercent),
        usageSeconds: n(s?.cpu.usageSeconds),
        throttledPercent: n(r?.cpuThrottledPercent),
        throttledPeriods: n(s?.cpu.throttledPeriods),
      },
      memory: {
        usageBytes: n(s?.memory.usageBytes),
        workingSetBytes: workingSet,
        rssBytes: n(s?.memory.rssBytes),
        cacheBytes: n(s?.memory.cacheBytes),
        limitBytes: limit,
        limitPercent: limit > 0 ? Math.round((workingSet / limit) * 10_000) / 100 : 0,
        failcnt: n(s?.memory.failcnt),
      },
      network: {
        rxBytes: n(net?.rxBytes),
        txBytes: n(net?.txBytes),
        rxBytesPerSecond: n(r?.networkRxBytesPerSecond),
        txBytesPerSecond: n(r?.networkTxBytesPerSecond),
        rxErrors: (s?.network ?? []).reduce((a, i) => a + i.rxErrors, 0),
        txErrors: (s?.network ?? []).reduce((a, i) => a + i.txErrors, 0),
        rxDropped: (s?.network ?? []).reduce((a, i) => a + i.rxDropped, 0),
        txDropped: (s?.network ?? []).reduce((a, i) => a + i.txDropped, 0),
      },
      blockIo: {
        readBytes: n(blk?.readBytes),
        writeBytes: n(blk?.writeBytes),
        readBytesPerSecond: n(r?.blockReadBytesPerSecond),
        writeBytesPerSecond: n(r?.blockWriteBytesPerSecond),
      },
      pids: n(s?.pids),
    };
  }

  logDiscovery(): { data: LldRow[] } {
    const files = this.#logs?.().files ?? [];
    return {
      data: files.map((f) => ({
        '{#LOG.PATH}': f.path,
        '{#LOG.NAME}': f.path.slice(f.path.lastIndexOf('/') + 1),
        '{#LOG.DATASET}': f.dataset,
        '{#LOG.TYPE}': f.metadata?.logType ?? '',
        '{#LOG.APP}': f.metadata?.app ?? '',
        '{#LOG.ENV}': f.metadata?.env ?? '',
        '{#LOG.CONTAINER}': f.container?.name ?? '',
        '{#LOG.SOURCE}': 'file',
      })),
    };
  }

  /**
   * One row per container whose output is followed: a discovery of its own, so templates whose
   * file discovery knows only `{#LOG.PATH}` rows get no container rows (extend, never reshape).
   */
  logContainerDiscovery(): { data: LldRow[] } {
    const containers = this.#logs?.().containers ?? [];
    return {
      data: containers.map((c) => ({
        '{#LOG.SOURCE}': 'container',
        '{#LOG.CONTAINER}': c.name,
        '{#LOG.CONTAINER.ID}': c.id,
        '{#LOG.DATASET}': 'docker.container_logs',
      })),
    };
  }

  probeDiscovery(): { data: LldRow[] } {
    this.#requireComplete('the probe list');
    return {
      data: (this.#probes?.() ?? []).map((p) => ({
        '{#PROBE.CONTAINER}': p.containerName,
        '{#PROBE.CONTAINER.ID}': p.containerId,
        '{#PROBE.TYPE}': p.type,
        '{#PROBE.TARGET}': p.target,
      })),
    };
  }

  agentDocument(): Record<string, unknown> {
    const now = this.#now();
    const docker = this.#s.docker();
    const counts = { running: 0, stopped: 0, removed: 0 };
    for (const { lifecycle } of this.#s.exported()) {
      if (RUNNING.has(lifecycle.state)) counts.running++;
      else if (lifecycle.state === 'removed') counts.removed++;
      else counts.stopped++;
    }
    const logs = this.#logs?.();
    const probes = this.#probes?.() ?? [];
    const lastSweep = this.#s.lastSweepAt();
    return {
      version: this.#s.version,
      uptimeSeconds: Math.round((now - this.#s.startedAt) / 1000),
      docker: { up: docker.state === 'connected' ? 1 : 0, state: docker.state, reconnects: docker.reconnects },
      metrics: {
        lastSweepAgeSeconds: lastSweep === null ? -1 : Math.round((now - lastSweep) / 1000),
        // Always ≥ 0 and growing while nothing is swept, from the agent's start before the first
        // sweep: -1 cannot go into an unsigned Zabbix item, and "not collected" must be able to fire.
        staleSeconds: Math.round((now - (lastSweep ?? this.#s.startedAt)) / 1000),
      },
      containers: counts,
      logs: logs
        ? {
            enabled: 1,
            stalled: logs.stalledSince === null ? 0 : 1,
            stalledSeconds: logs.stalledSince === null ? 0 : Math.round((now - logs.stalledSince) / 1000),
            lastAckAgeSeconds: logs.lastAckAt === null ? -1 : Math.round((now - logs.lastAckAt) / 1000),
            // ≥ 0 for a Zabbix item: since the agent started while nothing was acknowledged yet
            sinceAckSeconds: Math.round((now - (logs.lastAckAt ?? this.#s.startedAt)) / 1000),
            queuedEvents: logs.queuedEvents,
            maxLagBytes: logs.files.reduce((m, f) => Math.max(m, f.lagBytes), 0),
            files: logs.files.map((f) => ({ path: f.path, state: f.state, lagBytes: f.lagBytes })),
            containers: logs.containers.map((c) => ({ name: c.name, id: c.id, state: c.state, pendingMessages: c.pendingMessages })),
          }
        : { enabled: 0, stalled: 0, stalledSeconds: 0, lastAckAgeSeconds: -1, sinceAckSeconds: 0, queuedEvents: 0, maxLagBytes: 0, files: [], containers: [] },
      probes: {
        enabled: this.#probes ? 1 : 0,
        failing: probes.filter((p) => !p.ok).length,
        results: probes.map((p) => ({
          container: p.containerName,
          type: p.type,
          ok: p.ok ? 1 : 0,
          state: p.state,
          consecutiveFailures: p.consecutiveFailures,
          latencyMs: n(p.latencyMs),
        })),
      },
    };
  }

  routes(): RouteDefinition[] {
    return [
      {
        method: 'GET',
        pattern: '/v1/zabbix/containers',
        handler: async () => {
          await this.#s.completeNow?.();
          return { json: this.containerDiscovery() };
        },
      },
      {
        method: 'GET',
        pattern: '/v1/zabbix/containers/:ref',
        handler: ({ params }) => {
          const ref = params['ref'] ?? '';
          if (ref.length > 256) throw new DockhandError('BAD_REQUEST', 'container reference longer than 256 characters');
          return { json: this.containerDocument(ref) };
        },
      },
      { method: 'GET', pattern: '/v1/zabbix/logs', handler: () => ({ json: this.logDiscovery() }) },
      { method: 'GET', pattern: '/v1/zabbix/logs/containers', handler: () => ({ json: this.logContainerDiscovery() }) },
      {
        method: 'GET',
        pattern: '/v1/zabbix/probes',
        handler: async () => {
          await this.#s.completeNow?.();
          return { json: this.probeDiscovery() };
        },
      },
      { method: 'GET', pattern: '/v1/zabbix/agent', handler: () => ({ json: this.agentDocument() }) },
    ];
  }
}

export { logSnapshotFrom, probeSnapshotsFromDocument } from './zabbix-adapters.ts';
