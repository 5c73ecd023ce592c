/**
 * Where to dial a container's probe port. The rule that matters: a port that cannot be resolved
 * is a configuration error reported on the container, never a dial to 127.0.0.1:<container
 * port> "just in case" — under bridge networking that address is some other service on the
 * host (or nothing), and a probe that passes against the wrong service is worse than none
 * (docker-autoheal users and Marathon's host-vs-bridge port mix-ups hit exactly this).
 *
 * Order: host networking → 127.0.0.1:<port>; a published TCP binding → 127.0.0.1 (bound to
 * 0.0.0.0/127.0.0.1), ::1 (bound to ::) or the specific host IP it is bound to; else the
 * container's own IP on its bridge/user network; `container:<id>` networking → the other
 * container's answer; `none` or no address → error.
 */
import type { ContainerRecord } from '../docker/types.ts';

export interface ProbeTarget {
  host: string;
  port: number;
  /** How the address was found, for the API and logs. */
  via: 'host-network' | 'published' | 'container-ip';
}

export type TargetResolution = { ok: true; target: ProbeTarget } | { ok: false; error: string };

type Lookup = (ref: string) => ContainerRecord | undefined;

const ANY_V4 = new Set(['0.0.0.0', '', '127.0.0.1']);

/**
 * @param port container port, or null for "the only published TCP port"
 * @param lookup finds the container named by `container:<ref>` network modes
 */
export function resolveTarget(record: ContainerRecord, port: number | null, lookup: Lookup, depth = 0): TargetResolution {
  const mode = record.networkMode;
  if (mode.startsWith('container:')) {
    const ref = mode.slice('container:'.length);
    const other = depth === 0 ? lookup(ref) : undefined;
    if (!other) return { ok: false, error: `network mode ${mode}: that container is not known to the agent` };
    const r = resolveTarget(other, port, lookup, depth + 1);
    return r.ok ? r : { ok: false, error: `network mode ${mode}: ${r.error}` };
  }

  const tcp = record.ports.filter((p) => p.protocol === 'tcp');
  if (port === null) {
    const ports = [...new Set(tcp.map((p) => p.containerPort))];
    if (mode === 'host') return { ok: false, error: 'probe port is not set (required under host networking)' };
    if (ports.length !== 1) {
      return { ok: false, error: `probe port is not set and the container publishes ${ports.length === 0 ? 'no TCP port' : `${ports.length} TCP ports (${ports.join(', ')})`}` };
    }
    port = ports[0] as number;
  }

  if (mode === 'host') return { ok: true, target: { host: '127.0.0.1', port, via: 'host-network' } };

  const bindings = tcp.filter((p) => p.containerPort === port);
  if (bindings.length > 0) {
    const loopback = bindings.find((b) => ANY_V4.has(b.hostIp));
    if (loopback) return { ok: true, target: { host: '127.0.0.1', port: loopback.hostPort, via: 'published' } };
    const v6any = bindings.find((b) => b.hostIp === '::' || b.hostIp === '::1');
    if (v6any) return { ok: true, target: { host: '::1', port: v6any.hostPort, via: 'published' } };
    const first = bindings[0] as (typeof bindings)[number];
    return { ok: true, target: { host: first.hostIp, port: first.hostPort, via: 'published' } };
  }

  if (mode === 'none') {
    return { ok: false, error: `port ${port}/tcp is not reachable: network mode none (no published port, no address)` };
  }
  const ip = containerIp(record);
  if (!ip) {
    const udpOnly = record.ports.some((p) => p.containerPort === port);
    return {
      ok: false,
      error: udpOnly
        ? `port ${port} is published for ${record.ports.filter((p) => p.containerPort === port).map((p) => p.protocol).join('/')} only, and the container has no IP address`
        : `port ${port}/tcp is not published and the container has no IP address (network mode ${mode || 'unknown'})`,
    };
  }
  return { ok: true, target: { host: ip, port, via: 'container-ip' } };
}

/** The IP on the network named by the network mode (`bridge`, a user network), else the first one. */
function containerIp(record: ContainerRecord): string | undefined {
  const own = record.ips[record.networkMode === 'default' ? 'bridge' : record.networkMode];
  if (own) return own;
  for (const ip of Object.values(record.ips)) if (ip) return ip;
  return undefined;
}

export function formatTarget(t: ProbeTarget): string {
  return t.host.includes(':') ? `[${t.host}]:${t.port}` : `${t.host}:${t.port}`;
}
