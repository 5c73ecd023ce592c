/**
 * The daemon checks (CIS Docker Benchmark sections 2 and 3): pure functions over `docker info`,
 * the daemon's settings (command line + daemon.json) and file stats. Where an input could not
 * be read the check says `not_checked` with the reason — never a silent pass.
 */
import type { DaemonSettings } from './daemon-settings.ts';
import { fail, notChecked } from './outcome.ts';
import type { Outcome } from './outcome.ts';

/** The parts of `docker info` the checks read. */
export interface DockerInfoLike {
  LiveRestoreEnabled?: boolean;
  ExperimentalBuild?: boolean;
  SecurityOptions?: string[];
  LoggingDriver?: string;
  DockerRootDir?: string;
  RegistryConfig?: {
    InsecureRegistryCIDRs?: string[] | null;
    IndexConfigs?: Record<string, { Name?: string; Secure?: boolean; Mirrors?: string[] }> | null;
    Mirrors?: string[] | null;
  } | null;
}

export interface DaemonInputs {
  /** null when Docker did not answer. */
  info: DockerInfoLike | null;
  /** null when the daemon's command line could not be read; `settingsGap` says why. */
  settings: DaemonSettings | null;
  settingsGap: string;
  /** `ok`, `missing` (no file: defaults apply), or why daemon.json could not be read (`permission`). */
  configFile: string;
  /** The default bridge's enable_icc option; null when there is no default bridge. */
  bridgeIcc: boolean | null | undefined;
}

const DEFAULT_INSECURE = new Set(['127.0.0.0/8', '::1/128']);
const FILE_DRIVERS = new Set(['json-file']);

/** Why a setting only daemon.json or the command line can tell is unknown, or undefined when known. */
function settingsUnknown(d: DaemonInputs): string | undefined {
  if (!d.settings) return d.settingsGap;
  if (d.configFile !== 'ok' && d.configFile !== 'missing') return `${d.configFile}: daemon.json ${d.settings.configFile ?? ''}`.trim();
  return undefined;
}

export function checkDaemon(d: DaemonInputs): Outcome[] {
  const out: Outcome[] = [];
  const T = 'daemon';
  const gap = settingsUnknown(d);
  const s = d.settings;

  // TCP without TLS verification: the hosts come from the command line and daemon.json
  if (!s) out.push(notChecked('daemon.tcp_without_tls', T, d.settingsGap));
  else {
    const tcp = s.hosts.filter((h) => h.startsWith('tcp://'));
    if (tcp.length > 0 && !s.tlsverify) out.push(fail('daemon.tcp_without_tls', T, `listens on ${tcp.join(', ')} without --tlsverify: anyone who reaches it is root on this host`));
    else if (gap && tcp.length === 0) out.push(notChecked('daemon.tcp_without_tls', T, gap));
  }

  if (d.bridgeIcc === true) out.push(fail('daemon.icc', T, 'containers on the default bridge can reach each other (icc is on)'));
  else if (d.bridgeIcc === undefined) out.push(notChecked('daemon.icc', T, 'docker unreachable'));

  if (!d.info) {
    for (const check of ['daemon.no_live_restore', 'daemon.no_userns_remap', 'daemon.experimental', 'daemon.insecure_registries', 'daemon.log_unbounded']) {
      out.push(notChecked(check, T, 'docker unreachable'));
    }
  } else {
    const info = d.info;
    if (info.LiveRestoreEnabled !== true) out.push(fail('daemon.no_live_restore', T, 'live-restore is off: a daemon restart stops every container'));
    const secopts = info.SecurityOptions ?? [];
    if (!secopts.some((o) => o === 'name=userns' || o.startsWith('name=userns,') || o === 'name=rootless')) {
      out.push(fail('daemon.no_userns_remap', T, 'no userns-remap: root in a container is root on the host'));
    }
    if (info.ExperimentalBuild === true) out.push(fail('daemon.experimental', T, 'experimental features are on'));
    const insecure = [
      ...(info.RegistryConfig?.InsecureRegistryCIDRs ?? []).filter((c) => !DEFAULT_INSECURE.has(c)),
      ...Object.values(info.RegistryConfig?.IndexConfigs ?? {}).filter((i) => i.Secure === false && i.Name !== undefined).map((i) => i.Name as string),
    ];
    if (insecure.length > 0) out.push(fail('daemon.insecure_registries', T, `insecure registries: ${[...new Set(insecure)].join(', ')}`));
    const driver = info.LoggingDriver ?? '';
    if (FILE_DRIVERS.has(driver)) {
      if (gap) out.push(notChecked('daemon.log_unbounded', T, gap));
      else if (!s?.logOpts['max-size']) out.push(fail('daemon.log_unbounded', T, `log driver ${driver} without max-size: container logs grow until the disk is full`));
    } else if (driver === '') {
      out.push(notChecked('daemon.log_unbounded', T, 'docker info gave no logging driver'));
    }
  }

  if (gap) {
    for (const check of ['daemon.no_new_privileges', 'daemon.no_default_ulimits']) out.push(notChecked(check, T, gap));
  } else if (s) {
    if (s.noNewPrivileges !== true) out.push(fail('daemon.no_new_privileges', T, 'no-new-privileges is not the default: setuid binaries in containers can gain privileges'));
    if (s.defaultUlimits.length === 0) out.push(fail('daemon.no_default_ulimits', T, 'no default-ulimits'));
  }
  return out;
}

/** stat() of a file the audit checks, or why it could not. */
export interface FileFacts {
  check: string;
  path: string;
  /** `ok`, `missing`, `permission`, or an error code. */
  status: string;
  uid?: number;
  gid?: number;
  /** Permission bits (mode & 0o7777). */
  mode?: number;
  /** Name of the owning group, where /etc/group tells. */
  group?: string;
}

export interface FileRule {
  /** Allowed owning groups: gid 0, or a group of this name. */
  groups: readonly string[];
  /** Most permissive mode allowed: no bit outside it. */
  maxMode: number;
}

export const FILE_RULES: Readonly<Record<string, FileRule>> = {
  'files.docker_socket': { groups: ['root', 'docker'], maxMode: 0o660 },
  'files.etc_docker': { groups: ['root'], maxMode: 0o755 },
  'files.daemon_json': { groups: ['root'], maxMode: 0o644 },
  'files.tls_key': { groups: ['root'], maxMode: 0o400 },
};

export function checkFiles(files: readonly FileFacts[]): Outcome[] {
  const out: Outcome[] = [];
  for (const f of files) {
    const rule = FILE_RULES[f.check];
    if (!rule || f.status === 'missing') continue;
    if (f.status !== 'ok') {
      out.push(notChecked(f.check, f.path, f.status));
      continue;
    }
    const problems: string[] = [];
    if (f.uid !== 0) problems.push(`owner uid ${f.uid ?? '?'} (want root)`);
    const groupOk = f.gid === 0 || (f.group !== undefined && rule.groups.includes(f.group));
    if (!groupOk) problems.push(`group ${f.group ?? f.gid ?? '?'} (want ${rule.groups.join(' or ')})`);
    const mode = f.mode ?? 0;
    if ((mode & ~rule.maxMode) !== 0) problems.push(`mode ${mode.toString(8).padStart(4, '0')} (want ${rule.maxMode.toString(8).padStart(4, '0')} or stricter)`);
    if (problems.length > 0) out.push(fail(f.check, f.path, problems.join(', ')));
  }
  return out;
}
