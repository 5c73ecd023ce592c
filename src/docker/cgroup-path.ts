/**
 * Where a container's cgroup lives, relative to the cgroup mount. The truth is the container
 * init process's /proc/<pid>/cgroup; when it is not running (or /proc is not ours) the path is
 * derived from Docker's cgroup driver the same way dockerd/runc build it.
 */
import { readFile } from 'node:fs/promises';

/** Parses /proc/<pid>/cgroup text: the v2 unified entry (`0::/path`) or, on v1, the memory controller's. */
export function parseProcCgroup(text: string): string | undefined {
  let v1: string | undefined;
  let named: string | undefined;
  for (const line of text.split('\n')) {
    const first = line.indexOf(':');
    const second = line.indexOf(':', first + 1);
    if (first < 0 || second < 0) continue;
    const controllers = line.slice(first + 1, second);
    const path = line.slice(second + 1);
    // In a private cgroup namespace paths are relative to its root (`/..` climbs out of it):
    // not usable from the host's mount, so the derived path is the better answer.
    if (path.startsWith('/..')) continue;
    if (line.startsWith('0::') && path !== '/') return path;
    if (controllers.split(',').includes('memory')) v1 = path;
    else if (controllers === 'name=systemd') named = path;
  }
  return v1 ?? named;
}

export async function cgroupPathFromProc(pid: number, procRoot = '/proc'): Promise<string | undefined> {
  if (pid <= 0) return undefined;
  try {
    return parseProcCgroup(await readFile(`${procRoot}/${pid}/cgroup`, 'utf8'));
  } catch {
    return undefined; // the process exited, or /proc is another namespace's: fall back to the derived path
  }
}

/**
 * Derived path: cgroupfs driver → `<parent or /docker>/<id>`; systemd driver →
 * `/<parent or system.slice>/docker-<id>.scope` (nested slices expanded as systemd does:
 * `a-b.slice` lives under `a.slice/`).
 */
export function derivedCgroupPath(id: string, driver: string, parent: string): string {
  if (driver === 'systemd') {
    const slice = parent || 'system.slice';
    return `${expandSlice(slice)}/docker-${id}.scope`;
  }
  const base = parent || '/docker';
  return `${base.startsWith('/') ? base : `/${base}`}/${id}`;
}

function expandSlice(slice: string): string {
  if (!slice.endsWith('.slice') || slice === '-.slice') return `/${slice}`;
  const parts = slice.slice(0, -'.slice'.length).split('-');
  let path = '';
  let prefix = '';
  for (const part of parts) {
    prefix = prefix ? `${prefix}-${part}` : part;
    path += `/${prefix}.slice`;
  }
  return path;
}
