/**
 * The agent's own container id when it runs as a container (the Dockerfile way), so it can leave
 * itself alone: never probe or restart itself. Docker bind-mounts the container's
 * /etc/hostname, /etc/hosts and /etc/resolv.conf from `<data-root>/containers/<id>/`, which
 * /proc/self/mountinfo shows whatever the cgroup namespace; /proc/self/cgroup is the fallback for
 * cgroup v1 (`/docker/<id>`, `docker-<id>.scope`).
 */
import { readFile } from 'node:fs/promises';

const ID = /[0-9a-f]{64}/;

export function containerIdFromMountinfo(text: string): string | undefined {
  for (const line of text.split('\n')) {
    const m = /\/containers\/([0-9a-f]{64})\/(?:hostname|hosts|resolv\.conf)\s/.exec(line);
    if (m) return m[1];
  }
  return undefined;
}

export function containerIdFromCgroup(text: string): string | undefined {
  for (const line of text.split('\n')) {
    const path = line.slice(line.indexOf(':', line.indexOf(':') + 1) + 1);
    if (/docker[-/]/.test(path)) {
      const m = ID.exec(path);
      if (m) return m[0];
    }
  }
  return undefined;
}

/** Undefined when the agent runs on the host (the systemd way). */
export async function ownContainerId(procRoot = '/proc'): Promise<string | undefined> {
  const mountinfo = await readFile(`${procRoot}/self/mountinfo`, 'utf8').catch(() => '');
  const fromMounts = containerIdFromMountinfo(mountinfo);
  if (fromMounts) return fromMounts;
  return containerIdFromCgroup(await readFile(`${procRoot}/self/cgroup`, 'utf8').catch(() => ''));
}
