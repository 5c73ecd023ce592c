/**
 * The per-container checks (CIS Docker Benchmark sections 4 and 5): pure functions over the
 * container's inspect document, unit-tested from recorded JSON. A passing check says nothing.
 */
import type { Outcome } from './outcome.ts';

/** The parts of `docker inspect <container>` the checks read. */
export interface ContainerInspect {
  Id: string;
  Name?: string;
  Config?: {
    Image?: string;
    User?: string;
    Healthcheck?: { Test?: string[] } | null;
  };
  HostConfig?: {
    Privileged?: boolean;
    NetworkMode?: string;
    PidMode?: string;
    IpcMode?: string;
    UTSMode?: string;
    CapAdd?: string[] | null;
    SecurityOpt?: string[] | null;
    Memory?: number;
    PidsLimit?: number | null;
    CpuShares?: number;
    NanoCpus?: number;
    CpuQuota?: number;
    ReadonlyRootfs?: boolean;
    RestartPolicy?: { Name?: string; MaximumRetryCount?: number };
    PortBindings?: Record<string, { HostIp?: string; HostPort?: string }[] | null> | null;
  };
  AppArmorProfile?: string;
  Mounts?: { Type?: string; Source?: string; Destination?: string; RW?: boolean }[];
}

export interface ContainerContext {
  /** A dockhand probe (label or health rule) covers this container. */
  probed: boolean;
  /** Host paths of the Docker socket (the configured one and the usual names). */
  dockerSockets: readonly string[];
  /** The daemon's data root (`docker info` DockerRootDir), sensitive like /var/lib/docker. */
  dockerRootDir?: string;
}

/** Capabilities that give a container a way to the host or its kernel. */
export const DANGEROUS_CAPABILITIES: ReadonlySet<string> = new Set([
  'ALL', 'SYS_ADMIN', 'SYS_MODULE', 'SYS_RAWIO', 'SYS_PTRACE', 'SYS_BOOT', 'SYS_TIME', 'NET_ADMIN', 'DAC_READ_SEARCH',
  'MAC_ADMIN', 'MAC_OVERRIDE', 'BPF', 'PERFMON', 'SYSLOG',
]);

export const SENSITIVE_PATHS: readonly string[] = ['/', '/boot', '/etc', '/proc', '/sys', '/var/lib/docker', '/dev', '/usr', '/lib'];

function trimSlash(p: string): string {
  return p.length > 1 ? p.replace(/\/+$/, '') : p;
}

function isRootUser(user: string | undefined): boolean {
  const name = (user ?? '').split(':')[0] ?? '';
  return name === '' || name === '0' || name === 'root';
}

function securityOpt(opts: readonly string[], key: string): string | undefined {
  for (const o of opts) {
    const m = /^([a-z-]+)[=:](.*)$/.exec(o);
    if (m?.[1] === key) return m[2];
  }
  return undefined;
}

/** `repo:latest`, an implicit latest, or no `@sha256:` digest. */
export function unpinnedImage(image: string): string | undefined {
  if (/^(sha256:)?[0-9a-f]{64}$/.test(image)) return undefined; // by image id: pinned
  if (image.includes('@')) return undefined;
  const slash = image.lastIndexOf('/');
  const colon = image.lastIndexOf(':');
  const tag = colon > slash ? image.slice(colon + 1) : '';
  if (tag === '' || tag === 'latest') return `image ${image} is by tag latest${tag === '' ? ' (implicit)' : ''}, without a digest`;
  return `image ${image} has no digest (a tag can be moved)`;
}

export function checkContainer(c: ContainerInspect, ctx: ContainerContext): Outcome[] {
  const name = (c.Name ?? '').replace(/^\//, '') || c.Id.slice(0, 12);
  const target = `container:${name}`;
  const out: Outcome[] = [];
  const add = (check: string, detail: string): void => {
    out.push({ check, target, status: 'fail', detail, containerId: c.Id, containerName: name });
  };
  const hc = c.HostConfig ?? {};
  const cfg = c.Config ?? {};

  if (hc.Privileged) add('container.privileged', 'runs with --privileged: all capabilities, all devices, no seccomp or AppArmor');
  if (hc.NetworkMode === 'host') add('container.host_network', 'shares the host\'s network namespace (--network host)');
  if (hc.PidMode === 'host') add('container.host_pid', 'shares the host\'s PID namespace (--pid host)');
  if (hc.IpcMode === 'host') add('container.host_ipc', 'shares the host\'s IPC namespace (--ipc host)');
  if (hc.UTSMode === 'host') add('container.host_uts', 'shares the host\'s UTS namespace (--uts host)');

  const sockets = new Set(ctx.dockerSockets.map(trimSlash));
  const rootDir = ctx.dockerRootDir ? trimSlash(ctx.dockerRootDir) : undefined;
  for (const m of c.Mounts ?? []) {
    if (m.Type !== undefined && m.Type !== 'bind') continue;
    const source = trimSlash(m.Source ?? '');
    if (!source) continue;
    const mode = m.RW === false ? 'read-only' : 'read-write';
    if (sockets.has(source) || /\/docker\.sock$/.test(source)) {
      add('container.docker_socket', `${source} mounted at ${m.Destination ?? '?'} (${mode}): the Docker API is root on the host`);
    } else if (SENSITIVE_PATHS.includes(source) || (rootDir !== undefined && (source === rootDir || source.startsWith(`${rootDir}/`)))) {
      add('container.sensitive_mount', `host ${source} mounted at ${m.Destination ?? '?'} (${mode})`);
    }
  }

  const caps = (hc.CapAdd ?? []).map((cap) => cap.toUpperCase().replace(/^CAP_/, '')).filter((cap) => DANGEROUS_CAPABILITIES.has(cap));
  if (caps.length > 0) add('container.dangerous_capabilities', `adds ${caps.join(', ')}`);

  const opts = hc.SecurityOpt ?? [];
  if (securityOpt(opts, 'seccomp') === 'unconfined') add('container.seccomp_unconfined', 'runs with --security-opt seccomp=unconfined');
  if (securityOpt(opts, 'apparmor') === 'unconfined' || (c.AppArmorProfile === 'unconfined' && !hc.Privileged)) {
    add('container.apparmor_unconfined', 'runs with AppArmor unconfined');
  }

  if (isRootUser(cfg.User)) add('container.root_user', cfg.User ? `runs as user ${cfg.User}` : 'runs as root (no USER in the image, no --user)');
  if (!hc.Memory) add('container.no_memory_limit', 'no --memory limit');
  if (hc.PidsLimit === undefined || hc.PidsLimit === null || hc.PidsLimit <= 0) add('container.no_pids_limit', 'no --pids-limit');
  if (!hc.CpuShares && !hc.NanoCpus && !hc.CpuQuota) add('container.no_cpu_shares', 'no --cpu-shares, --cpus or --cpu-quota');
  if (!hc.ReadonlyRootfs) add('container.writable_rootfs', 'root file system is writable (no --read-only)');

  if (hc.NetworkMode !== 'host') {
    for (const [port, bindings] of Object.entries(hc.PortBindings ?? {})) {
      for (const b of bindings ?? []) {
        const hostPort = Number(b.HostPort);
        const ip = b.HostIp ?? '';
        if (Number.isInteger(hostPort) && hostPort > 0 && hostPort < 1024 && (ip === '' || ip === '0.0.0.0' || ip === '::')) {
          add('container.privileged_port', `${port} published on host port ${hostPort} of all addresses`);
        }
      }
    }
  }

  if (hc.RestartPolicy?.Name === 'on-failure' && !hc.RestartPolicy.MaximumRetryCount) add('container.restart_unbounded', 'restart policy on-failure without a maximum retry count');

  const test = cfg.Healthcheck?.Test ?? [];
  const healthcheck = test.length > 0 && test[0] !== 'NONE';
  if (!healthcheck && !ctx.probed) add('container.no_healthcheck', test[0] === 'NONE' ? 'health check disabled and no dockhand probe' : 'no HEALTHCHECK and no dockhand probe');

  const unpinned = unpinnedImage(cfg.Image ?? '');
  if (unpinned) add('container.image_unpinned', unpinned);
  return out;
}
