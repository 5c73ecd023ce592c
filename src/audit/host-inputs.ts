/**
 * Gathers the inputs of the host-wide checks: `docker info` and the default bridge, the dockerd
 * process serving the agent's socket (its command line, from /proc), its daemon.json, file
 * stats, and the certificate files. Reads only; every failure becomes a described input
 * ("permission", "missing", "no dockerd process visible"), never an exception.
 */
import { readFile, readdir, stat } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import type Docker from 'dockerode';
import { dockerInfo } from '../docker/client.ts';
import { systemCode } from '../core/errors.ts';
import { deadline } from '../core/timers.ts';
import type { DaemonInputs, DockerInfoLike, FileFacts } from './daemon-checks.ts';
import { daemonSettings, parseDaemonArgs, servesSocket } from './daemon-settings.ts';
import type { DaemonSettings } from './daemon-settings.ts';
import { readFailure } from './outcome.ts';

export interface HostInputOptions {
  docker: Docker;
  callTimeoutMs: number;
  /** Path of the Docker socket the agent uses ('' for tcp://). */
  socketPath: string;
  procRoot: string;
  /** daemon.json when the daemon's command line names none. */
  daemonConfig: string;
}

export interface DaemonProcess {
  pid: number;
  argv: string[];
}

/** The dockerd serving `socketPath`, from /proc/<pid>/comm and cmdline (world-readable unless hidepid). */
export async function findDaemonProcess(procRoot: string, socketPath: string): Promise<DaemonProcess | string> {
  let entries: string[];
  try {
    entries = await readdir(procRoot);
  } catch (err) {
    return `${readFailure(systemCode(err))}: ${procRoot}`;
  }
  const candidates: DaemonProcess[] = [];
  for (const entry of entries) {
    if (!/^\d+$/.test(entry)) continue;
    const comm = await readFile(join(procRoot, entry, 'comm'), 'utf8').catch(() => '');
    if (comm.trim() !== 'dockerd') continue;
    const cmdline = await readFile(join(procRoot, entry, 'cmdline'), 'utf8').catch(() => '');
    const argv = cmdline.split('\0').filter((a) => a !== '');
    if (argv.length > 0) candidates.push({ pid: Number(entry), argv });
  }
  const serving = candidates.filter((c) => servesSocket(parseDaemonArgs(c.argv.slice(1)).values.get('host') ?? [], socketPath));
  if (serving.length === 1 && serving[0]) return serving[0];
  if (serving.length > 1) return `${serving.length} dockerd processes claim ${socketPath}`;
  return candidates.length === 0 ? 'no dockerd process visible (agent in a container without --pid host?)' : `no visible dockerd serves ${socketPath || 'the configured host'}`;
}

async function readJson(path: string): Promise<{ json: Record<string, unknown>; status: string }> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (err) {
    return { json: {}, status: readFailure(systemCode(err)) };
  }
  try {
    const json: unknown = JSON.parse(text);
    return typeof json === 'object' && json !== null && !Array.isArray(json) ? { json: json as Record<string, unknown>, status: 'ok' } : { json: {}, status: 'unparseable' };
  } catch {
    return { json: {}, status: 'unparseable' };
  }
}

async function bridgeIcc(docker: Docker, signal: AbortSignal): Promise<boolean | null | undefined> {
  try {
    // dockerode's network inspect takes no abort signal: race it against the call bound
    const aborted = new Promise<never>((_resolve, reject) => signal.addEventListener('abort', () => reject(new Error('timeout')), { once: true }));
    const net = await Promise.race([docker.getNetwork('bridge').inspect(), aborted]);
    return net.Options?.['com.docker.network.bridge.enable_icc'] !== 'false';
  } catch (err) {
    return (err as { statusCode?: number }).statusCode === 404 ? null : undefined;
  }
}

let groupCache: { at: number; names: Map<number, string> } | undefined;

async function groupName(gid: number): Promise<string | undefined> {
  if (!groupCache || Date.now() - groupCache.at > 60_000) {
    const text = await readFile('/etc/group', 'utf8').catch(() => '');
    const names = new Map<number, string>();
    for (const line of text.split('\n')) {
      const [name, , id] = line.split(':');
      if (name && id !== undefined && /^\d+$/.test(id)) names.set(Number(id), name);
    }
    groupCache = { at: Date.now(), names };
  }
  return groupCache.names.get(gid);
}

export async function fileFacts(check: string, path: string): Promise<FileFacts> {
  try {
    const s = await stat(path);
    const facts: FileFacts = { check, path, status: 'ok', uid: s.uid, gid: s.gid, mode: s.mode & 0o7777 };
    const group = await groupName(s.gid);
    if (group !== undefined) facts.group = group;
    return facts;
  } catch (err) {
    return { check, path, status: readFailure(systemCode(err)) };
  }
}

export interface HostInputs {
  daemon: DaemonInputs;
  files: FileFacts[];
  /** Settings when known (TLS files, registries), for the certificate and registry checks. */
  settings: DaemonSettings | null;
}

export async function gatherHostInputs(o: HostInputOptions): Promise<HostInputs> {
  const signal = deadline(o.callTimeoutMs);
  const [info, icc, proc] = await Promise.all([
    dockerInfo(o.docker, signal).then((i) => i as DockerInfoLike).catch(() => null),
    bridgeIcc(o.docker, signal),
    findDaemonProcess(o.procRoot, o.socketPath),
  ]);
  let settings: DaemonSettings | null = null;
  let settingsGap = '';
  let configFile = 'missing';
  let configPath = o.daemonConfig;
  if (typeof proc === 'string') settingsGap = proc;
  else {
    const args = parseDaemonArgs(proc.argv.slice(1));
    configPath = args.values.get('config-file')?.at(-1) ?? o.daemonConfig;
    const cfg = await readJson(configPath);
    configFile = cfg.status;
    settings = { ...daemonSettings(args, cfg.json), configFile: configPath };
  }
  const files = await Promise.all([
    o.socketPath ? fileFacts('files.docker_socket', o.socketPath) : null,
    fileFacts('files.etc_docker', dirname(configPath)),
    fileFacts('files.daemon_json', configPath),
    settings?.tlskey ? fileFacts('files.tls_key', settings.tlskey) : null,
  ]);
  return {
    daemon: { info, settings, settingsGap, configFile, bridgeIcc: icc },
    files: files.filter((f): f is FileFacts => f !== null),
    settings,
  };
}
