/**
 * Mapping Docker's inspect document to the agent's ContainerRecord and a Docker event to the
 * lifecycle event the agent records, and the small parsers that go with them (image tag, zero
 * times, ports). Pure functions: unit-tested against recorded JSON.
 */
import type { ContainerInspectInfo } from 'dockerode';
import { byCodeUnit } from '../core/compare.ts';
import type { RawDockerEvent } from './event-stream.ts';
import type { ContainerAction, ContainerEvent, ContainerHealth, ContainerRecord, ContainerState, PublishedPort } from './types.ts';

const STATES: readonly ContainerState[] = ['created', 'running', 'paused', 'restarting', 'removing', 'exited', 'dead'];
const HEALTH: readonly ContainerHealth[] = ['starting', 'healthy', 'unhealthy'];

export function toState(s: string | undefined): ContainerState {
  return STATES.find((x) => x === s) ?? 'unknown';
}

export function toHealth(s: string | undefined): ContainerHealth {
  return HEALTH.find((x) => x === s) ?? 'none';
}

/**
 * An event's time (ns since the epoch) as Docker writes its state times (RFC 3339, nanoseconds):
 * a `die` event sets finishedAt at once, so a container is never shown exited without it while
 * the inspect that brings Docker's own value is on its way.
 */
export function eventTime(nano: bigint): string {
  const seconds = nano / 1_000_000_000n;
  const fraction = (nano % 1_000_000_000n).toString().padStart(9, '0');
  return `${new Date(Number(seconds) * 1000).toISOString().slice(0, 19)}.${fraction}Z`;
}

/** Docker reports "never" as Go's zero time. */
export function dockerTime(s: string | undefined): string | null {
  if (!s || s.startsWith('0001-01-01')) return null;
  return s;
}

/**
 * Tag of an image reference: `repo:8` → `8`; `registry:5000/repo` → `latest` (the colon belongs
 * to the registry's port); `repo@sha256:…` and bare image ids → ''.
 */
export function imageTag(ref: string): string {
  if (ref.includes('@') || /^(sha256:)?[0-9a-f]{64}$/.test(ref)) return '';
  const slash = ref.lastIndexOf('/');
  const colon = ref.lastIndexOf(':');
  return colon > slash ? ref.slice(colon + 1) : 'latest';
}

type PortMap = Record<string, { HostIp: string; HostPort: string }[] | null> | undefined;

export function publishedPorts(ports: PortMap): PublishedPort[] {
  const out: PublishedPort[] = [];
  for (const [key, bindings] of Object.entries(ports ?? {})) {
    const [portText, proto] = key.split('/');
    const containerPort = Number(portText);
    const protocol = proto === 'udp' || proto === 'sctp' ? proto : 'tcp';
    for (const b of bindings ?? []) {
      const hostPort = Number(b.HostPort);
      if (Number.isInteger(containerPort) && Number.isInteger(hostPort) && hostPort > 0) {
        out.push({ containerPort, protocol, hostIp: b.HostIp || '0.0.0.0', hostPort });
      }
    }
  }
  return out.sort((a, b) => a.containerPort - b.containerPort || byCodeUnit(a.hostIp, b.hostIp));
}

export function recordFromInspect(info: ContainerInspectInfo, cgroupPath: string, now: number): ContainerRecord {
  const state = info.State;
  const networks = info.NetworkSettings?.Networks ?? {};
  const ips: Record<string, string> = {};
  for (const [name, n] of Object.entries(networks)) ips[name] = n?.IPAddress ?? '';
  const startedAt = dockerTime(state?.StartedAt);
  const image = info.Config?.Image ?? info.Image;
  return {
    id: info.Id,
    name: info.Name.replace(/^\//, ''),
    image,
    imageTag: imageTag(image),
    imageId: info.Image,
    labels: { ...(info.Config?.Labels ?? {}) },
    state: toState(state?.Status),
    health: toHealth(state?.Health?.Status),
    restartCount: info.RestartCount ?? 0,
    restartPolicy: info.HostConfig?.RestartPolicy?.Name || 'no',
    restartPolicyMaxRetries: info.HostConfig?.RestartPolicy?.MaximumRetryCount ?? 0,
    // A container that never ran has ExitCode 0 too; only a finished run has a meaningful one.
    exitCode: dockerTime(state?.FinishedAt) !== null ? (state?.ExitCode ?? null) : null,
    oomKilled: state?.OOMKilled ?? false,
    createdAt: dockerTime(info.Created),
    startedAt,
    finishedAt: dockerTime(state?.FinishedAt),
    pid: state?.Pid ?? 0,
    hostname: info.Config?.Hostname ?? '',
    networkMode: info.HostConfig?.NetworkMode ?? '',
    ips,
    ports: publishedPorts(info.NetworkSettings?.Ports),
    cgroupPath,
    updatedAt: now,
  };
}

/** Event attributes that are not container labels. */
const NON_LABEL_ATTRIBUTES = new Set(['name', 'image', 'exitCode', 'signal', 'oldName', 'execDuration', 'container']);

/** A Docker event as the lifecycle event the agent records; name, image and labels from `known` (the inventory's record) when the event lacks them. */
export function containerEventFrom(e: RawDockerEvent, action: ContainerAction, detail: string, known: ContainerRecord | undefined): Omit<ContainerEvent, 'seq'> {
  const attrs = e.Actor.Attributes ?? {};
  const labels: Record<string, string> = {};
  for (const [k, v] of Object.entries(attrs)) if (!NON_LABEL_ATTRIBUTES.has(k)) labels[k] = v;
  const event: Omit<ContainerEvent, 'seq'> = {
    kind: 'container',
    time: Number(e.nano / 1_000_000n),
    action,
    containerId: e.Actor.ID,
    containerName: attrs.name ?? known?.name ?? '',
    image: attrs.image ?? known?.image ?? '',
    labels: known?.labels ?? labels,
  };
  if (action === 'die' && attrs.exitCode !== undefined) event.exitCode = Number(attrs.exitCode);
  if (action === 'kill' && attrs.signal !== undefined) event.signal = attrs.signal;
  if (action === 'health_status') event.health = toHealth(detail);
  return event;
}
