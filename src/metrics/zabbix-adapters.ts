/**
 * Adapters from other capabilities' status documents to what the Zabbix endpoints show
 * (zabbix.ts). They read defensively: those documents belong to the health monitor and the log
 * shipper, not to a typed contract of this folder.
 */
import type { LogShippingSnapshot, ProbeSnapshot } from './zabbix.ts';

function str(v: unknown): string {
  return typeof v === 'string' ? v : '';
}

function record(v: unknown): Record<string, unknown> | undefined {
  return typeof v === 'object' && v !== null ? (v as Record<string, unknown>) : undefined;
}

/**
 * Where a probe goes, for `{#PROBE.TARGET}` and trigger names. The address is resolved only while
 * the container runs (its IP and published ports come with the inspect of a running container),
 * so a probe of a stopped container — every one after an agent restart, until it starts again —
 * has no address yet: it is named by the container port it will dial instead of an empty string
 * ("Probe of x failing (tcp )").
 */
function probeTarget(o: Record<string, unknown>): string {
  const resolved = str(o.target);
  if (resolved !== '') return resolved;
  const port = record(o.spec)?.port;
  return typeof port === 'number' ? `container port ${port}` : 'its published TCP port';
}

/**
 * Adapter over the health monitor's `/v1/probes` document (`{probes:[{containerId,
 * containerName, type, target, spec:{port}, status, consecutiveFailures, last:{latencyMs}}]}`).
 * Containers listed only for a probe configuration error (type null) are not probes Zabbix can
 * track.
 */
export function probeSnapshotsFromDocument(doc: Record<string, unknown>): ProbeSnapshot[] {
  const probes = Array.isArray(doc.probes) ? (doc.probes as unknown[]) : [];
  const out: ProbeSnapshot[] = [];
  for (const p of probes) {
    const o = record(p);
    if (!o || typeof o.type !== 'string') continue;
    const last = record(o.last);
    const status = str(o.status);
    out.push({
      containerId: str(o.containerId),
      containerName: str(o.containerName),
      type: o.type,
      target: probeTarget(o),
      state: status,
      ok: status !== 'unhealthy' && status !== 'error',
      consecutiveFailures: typeof o.consecutiveFailures === 'number' ? o.consecutiveFailures : 0,
      latencyMs: typeof last?.latencyMs === 'number' ? last.latencyMs : null,
    });
  }
  return out;
}

/** Unix ms of an ISO time in a status document; null when absent or unparseable. */
function isoMs(v: unknown): number | null {
  if (typeof v !== 'string') return null;
  const t = Date.parse(v);
  return Number.isNaN(t) ? null : t;
}

/**
 * Adapter over the log shipper's status document (`stalledSince`, `lastAckAt` as ISO times,
 * `queuedEvents`) and its /v1/logs file and container lists.
 */
export function logSnapshotFrom(status: Record<string, unknown>, files: LogShippingSnapshot['files'], containers: LogShippingSnapshot['containers']): LogShippingSnapshot {
  return {
    stalledSince: isoMs(status.stalledSince),
    lastAckAt: isoMs(status.lastAckAt),
    queuedEvents: typeof status.queuedEvents === 'number' ? status.queuedEvents : 0,
    files,
    containers: containers.map((c) => ({ id: c.id, name: c.name, state: c.state, pendingMessages: c.pendingMessages })),
  };
}
