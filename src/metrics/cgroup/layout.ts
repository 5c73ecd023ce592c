/**
 * Where the cgroup controllers are mounted, detected once at start (Fluent Bit's in_docker and
 * cAdvisor do the same): cgroup v1 (legacy or hybrid: one hierarchy per controller, possibly
 * co-mounted as `cpu,cpuacct`) or v2 (one unified hierarchy). The container's cgroup path
 * (`/docker/<id>` with the cgroupfs driver, `/system.slice/docker-<id>.scope` with systemd) is
 * then resolved under each controller's mount.
 *
 * Hybrid hosts (systemd's default on Debian 10/11, Ubuntu 20.04, this CI machine) mount a cgroup2
 * hierarchy at /sys/fs/cgroup/unified with no controllers: it only tracks processes, so a v1
 * memory hierarchy wins over any cgroup2 mount.
 */
import { existsSync, readFileSync } from 'node:fs';
import { errorMessage } from '../../core/errors.ts';
import { parseMountinfo } from '../../core/mountinfo.ts';
import type { MountEntry } from '../../core/mountinfo.ts';

export type V1Controller = 'cpu' | 'cpuacct' | 'memory' | 'blkio' | 'pids';
const V1_CONTROLLERS: readonly V1Controller[] = ['cpu', 'cpuacct', 'memory', 'blkio', 'pids'];

export interface CgroupMount {
  /** Mount point. */
  dir: string;
  /** The hierarchy path mounted there: '/' on the host; `/docker/<id>` inside a container with a private cgroup namespace view. */
  root: string;
}

export type CgroupLayout =
  | { version: 1; controllers: Partial<Record<V1Controller, CgroupMount>> & { memory: CgroupMount }; description: string }
  | { version: 2; mount: CgroupMount; description: string }
  | { version: 'none'; description: string };

/** The layout a mount table describes. `readControllers` reads a cgroup2 root's cgroup.controllers (for the description). */
export function layoutFromMounts(mounts: readonly MountEntry[], readControllers: (dir: string) => string | undefined = () => undefined): CgroupLayout {
  const v1: Partial<Record<V1Controller, CgroupMount>> = {};
  let v2: CgroupMount | undefined;
  for (const m of mounts) {
    if (m.fsType === 'cgroup') {
      for (const c of V1_CONTROLLERS) if (m.superOptions.includes(c)) v1[c] ??= { dir: m.mountPoint, root: m.root };
    } else if (m.fsType === 'cgroup2') {
      v2 ??= { dir: m.mountPoint, root: m.root };
    }
  }
  const memory = v1.memory;
  if (memory) {
    const found = V1_CONTROLLERS.filter((c) => v1[c]);
    const missing = V1_CONTROLLERS.filter((c) => !v1[c]);
    const hybrid = v2 ? `, hybrid (cgroup2 at ${v2.dir} unused)` : '';
    return {
      version: 1,
      controllers: { ...v1, memory },
      description: `cgroup v1: ${found.map((c) => `${c} at ${v1[c]?.dir ?? ''}`).join(', ')}${missing.length ? `; not mounted: ${missing.join(', ')}` : ''}${hybrid}`,
    };
  }
  if (v2) {
    const controllers = readControllers(v2.dir)?.trim();
    return { version: 2, mount: v2, description: `cgroup v2 at ${v2.dir}${controllers !== undefined ? ` (controllers: ${controllers || 'none'})` : ''}` };
  }
  return { version: 'none', description: 'no cgroup v1 memory hierarchy and no cgroup2 mount found' };
}

function readIfExists(file: string): string | undefined {
  try {
    return readFileSync(file, 'latin1');
  } catch {
    return undefined;
  }
}

/**
 * A configured directory (`metrics.cgroup_root`) instead of the mount table: a cgroup2 root
 * (has cgroup.controllers), else v1 controller directories under it (`memory`, `cpu`,
 * `cpuacct`, or co-mounted `cpu,cpuacct`, `blkio`, `pids`).
 */
export function layoutFromRoot(root: string): CgroupLayout {
  const controllers = readIfExists(`${root}/cgroup.controllers`);
  if (controllers !== undefined) {
    return { version: 2, mount: { dir: root, root: '/' }, description: `cgroup v2 at ${root} (controllers: ${controllers.trim() || 'none'})` };
  }
  const mounts: MountEntry[] = [];
  for (const c of V1_CONTROLLERS) {
    for (const dir of [c, 'cpu,cpuacct', 'cpuacct,cpu']) {
      if (!dir.split(',').includes(c) || !existsSync(`${root}/${dir}/cgroup.procs`)) continue;
      mounts.push({ root: '/', mountPoint: `${root}/${dir}`, mountOptions: ['rw'], fsType: 'cgroup', source: 'cgroup', superOptions: ['rw', c] });
      break;
    }
  }
  const layout = layoutFromMounts(mounts);
  return layout.version === 'none' ? { version: 'none', description: `${root} holds neither cgroup.controllers (v2) nor a memory/ hierarchy (v1)` } : layout;
}

/** Detects the layout: the configured root, else this process's mount table. Never throws. */
export function detectCgroupLayout(options: { cgroupRoot: string | null; procRoot: string }): CgroupLayout {
  if (options.cgroupRoot !== null) return layoutFromRoot(options.cgroupRoot);
  try {
    const text = readFileSync(`${options.procRoot}/self/mountinfo`, 'utf8');
    return layoutFromMounts(parseMountinfo(text), (dir) => readIfExists(`${dir}/cgroup.controllers`));
  } catch (err) {
    return { version: 'none', description: `cannot read ${options.procRoot}/self/mountinfo: ${errorMessage(err)}` };
  }
}

/**
 * Directory of a container's cgroup under a mount, or undefined when the path lies outside what
 * the mount shows (the agent in a container with its own cgroup namespace).
 */
export function cgroupDir(mount: CgroupMount, cgroupPath: string): string | undefined {
  if (mount.root === '/' || mount.root === '') return `${mount.dir}${cgroupPath}`;
  if (cgroupPath === mount.root) return mount.dir;
  if (cgroupPath.startsWith(`${mount.root}/`)) return `${mount.dir}${cgroupPath.slice(mount.root.length)}`;
  return undefined;
}
