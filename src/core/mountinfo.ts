/**
 * The mount table as /proc/<pid>/mountinfo gives it (proc(5)): one parser for the cgroup layout
 * (src/metrics/cgroup/layout.ts: which hierarchies are mounted where) and the host's file systems
 * (src/host/host-facts.ts: what `df` would list).
 */

/** One mountinfo line. */
export interface MountEntry {
  /** The path within the file system that is mounted here ('/' for a whole file system). */
  root: string;
  mountPoint: string;
  /** Per-mount options (`rw`/`ro`, `nosuid`, …). */
  mountOptions: string[];
  fsType: string;
  /** What is mounted: a device (`/dev/sda1`) or a name (`tmpfs`, `overlay`). */
  source: string;
  /** Per-file-system options (`rw`/`ro`, cgroup v1's controllers, …). */
  superOptions: string[];
}

/** mountinfo escapes space, tab, newline and backslash as \ooo. */
function unescapeOctal(s: string): string {
  return s.includes('\\') ? s.replace(/\\([0-7]{3})/g, (_m, oct: string) => String.fromCharCode(parseInt(oct, 8))) : s;
}

/**
 * Parses mountinfo: `id parent maj:min root mountpoint options [optional fields…] - fstype
 * source superoptions`. The optional fields (`shared:4`, `master:1`) vary in number, hence the
 * search for the ` - ` separator.
 */
export function parseMountinfo(text: string): MountEntry[] {
  const out: MountEntry[] = [];
  for (const line of text.split('\n')) {
    const sep = line.indexOf(' - ');
    if (sep < 0) continue;
    const left = line.slice(0, sep).split(' ');
    const right = line.slice(sep + 3).split(' ');
    const root = left[3];
    const mountPoint = left[4];
    const fsType = right[0];
    if (root === undefined || mountPoint === undefined || fsType === undefined) continue;
    out.push({
      root: unescapeOctal(root),
      mountPoint: unescapeOctal(mountPoint),
      mountOptions: (left[5] ?? '').split(','),
      fsType,
      source: unescapeOctal(right[1] ?? ''),
      superOptions: (right[2] ?? '').split(','),
    });
  }
  return out;
}

/** Read-only at the mount or for the whole file system (what /proc/mounts shows as `ro`). */
export function isReadOnly(m: MountEntry): boolean {
  return m.mountOptions.includes('ro') || m.superOptions.includes('ro');
}
