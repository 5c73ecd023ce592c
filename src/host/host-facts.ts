/**
 * The host's OS, CPU model, memory and file systems, read from the files the kernel and the
 * distribution provide: /etc/os-release, os.cpus(), /proc/meminfo, the mount table and statfs(2).
 *
 * This replaces systeminformation, which the agent used for these four figures only. Measured:
 * loaded and used it held 3.6 MB of an idle agent's RSS (1.8 MB of V8 heap), and it shells out
 * for file systems (`df`, and `cat /proc/mounts` through execSync, which blocks the event loop)
 * at every refresh. Reading the same sources directly is a few lines each.
 */
import { readFileSync } from 'node:fs';
import { statfs } from 'node:fs/promises';
import os from 'node:os';
import { isReadOnly, parseMountinfo } from '../core/mountinfo.ts';

export interface OsFacts {
  platform: string;
  distro: string;
  release: string;
  kernel: string;
  arch: string;
}

export interface MemoryFacts {
  total: number;
  free: number;
  available: number;
  /** total − available: what the kernel could not give to a new program without swapping. */
  used: number;
  buffers: number;
  cached: number;
  swapTotal: number;
  swapFree: number;
  swapUsed: number;
}

export interface FileSystemFacts {
  device: string;
  mount: string;
  type: string;
  readOnly: boolean;
  size: number;
  used: number;
  available: number;
  /** used / (used + available), percent: df's Use%, which counts blocks reserved for root as unavailable. */
  usePercent: number;
}

/** `NAME` and `VERSION_ID` of an os-release file (`distro` "Debian GNU/Linux", `release` "12"). */
export function parseOsRelease(text: string): { distro: string; release: string } {
  const fields = new Map<string, string>();
  for (const line of text.split('\n')) {
    const m = /^([A-Z_][A-Z0-9_]*)=(.*)$/.exec(line.trim());
    if (m) fields.set(m[1] as string, unquote(m[2] as string));
  }
  return { distro: fields.get('NAME') ?? fields.get('ID') ?? '', release: fields.get('VERSION_ID') ?? '' };
}

function unquote(value: string): string {
  const v = value.trim();
  if (v.length >= 2 && (v[0] === '"' || v[0] === "'") && v.endsWith(v[0])) return v.slice(1, -1).replace(/\\(["'$`\\])/g, '$1');
  return v;
}

export function readOsFacts(): OsFacts {
  let release = { distro: '', release: '' };
  for (const file of ['/etc/os-release', '/usr/lib/os-release']) {
    try {
      release = parseOsRelease(readFileSync(file, 'utf8'));
      break;
    } catch {
      // the next candidate; a minimal image may have neither
    }
  }
  return { platform: os.platform(), ...release, kernel: os.release(), arch: os.arch() };
}

/** The CPU's model name without trademark signs, the word "CPU" and the nominal clock: "Intel Xeon E5-2680 v4". */
export function cpuModelName(model: string): string {
  return model
    .replace(/\((?:R|TM|tm|r)\)/g, '')
    .replace(/\bCPU\b/g, '')
    .replace(/@\s*[\d.]+\s*[GM]Hz/i, '')
    .replace(/\s+/g, ' ')
    .trim();
}

/** /proc/meminfo's kB figures, in bytes. */
export function parseMeminfo(text: string): MemoryFacts {
  const kb = new Map<string, number>();
  for (const line of text.split('\n')) {
    const m = /^(\w+(?:\(\w+\))?):\s+(\d+)/.exec(line);
    if (m) kb.set(m[1] as string, Number(m[2]) * 1024);
  }
  const get = (key: string): number => kb.get(key) ?? 0;
  const total = get('MemTotal');
  const free = get('MemFree');
  // MemAvailable is there since Linux 3.14; before, free + buffers + cache is the usual estimate.
  const available = kb.get('MemAvailable') ?? free + get('Buffers') + get('Cached');
  const swapTotal = get('SwapTotal');
  const swapFree = get('SwapFree');
  return { total, free, available, used: Math.max(0, total - available), buffers: get('Buffers'), cached: get('Cached'), swapTotal, swapFree, swapUsed: Math.max(0, swapTotal - swapFree) };
}

/**
 * File systems that live elsewhere (`df -l` leaves them out): a statfs of a dead server's mount
 * hangs, and their size is not this host's to watch.
 */
const REMOTE_TYPES: ReadonlySet<string> = new Set(['nfs', 'nfs4', 'cifs', 'smb3', 'smbfs', 'ncpfs', 'afs', 'coda', 'ceph', 'glusterfs', 'fuse.glusterfs', 'fuse.sshfs', 'sshfs', 'lustre', 'gpfs', '9p', 'fuse.s3fs', 'fuse.rclone']);

/**
 * Size and use of each local file system, as `df -l` shows them: pseudo file systems (statfs
 * reports no blocks: proc, sysfs, cgroup…) are left out, and a device mounted at several places
 * (bind mounts) is shown once, at its shortest mount point, and a path mounted over shows its
 * last mount. A mount that cannot be measured is left out.
 */
export async function readFileSystems(mountinfoFile = '/proc/self/mountinfo'): Promise<FileSystemFacts[]> {
  // A path mounted over twice shows the last mount, as df does.
  const byPath = new Map<string, Omit<FileSystemFacts, 'size' | 'used' | 'available' | 'usePercent'>>();
  for (const m of parseMountinfo(readFileSync(mountinfoFile, 'utf8'))) {
    byPath.delete(m.mountPoint);
    byPath.set(m.mountPoint, { device: m.source, mount: m.mountPoint, type: m.fsType, readOnly: isReadOnly(m) });
  }
  const mounts = [...byPath.values()].filter((m) => !REMOTE_TYPES.has(m.type));
  const measured = await Promise.all(
    mounts.map(async (m): Promise<FileSystemFacts | undefined> => {
      try {
        const s = await statfs(m.mount);
        if (s.blocks === 0) return undefined;
        const size = s.blocks * s.bsize;
        const used = (s.blocks - s.bfree) * s.bsize;
        const available = s.bavail * s.bsize;
        return { ...m, size, used, available, usePercent: used + available > 0 ? (100 * used) / (used + available) : 0 };
      } catch {
        return undefined; // gone since the mount table was read, or not ours to look into
      }
    }),
  );
  const byDevice = new Map<string, FileSystemFacts>();
  const out: FileSystemFacts[] = [];
  for (const fs of measured) {
    if (fs === undefined) continue;
    if (!fs.device.startsWith('/')) {
      out.push(fs); // tmpfs, overlay…: each mount is its own file system
      continue;
    }
    const seen = byDevice.get(fs.device);
    if (seen === undefined || fs.mount.length < seen.mount.length) byDevice.set(fs.device, fs);
  }
  return [...byDevice.values(), ...out];
}
