/**
 * Block device names for the `device` label (`/dev/vda`, as cAdvisor labels container_fs_*),
 * from /proc/partitions. Re-read when an unknown major:minor shows up (a disk hot-plugged, a new
 * device-mapper volume), at most once a minute so an unnamed device cannot make every sweep
 * re-read the table.
 */
import type { KernelFileReader } from './cgroup/file-reader.ts';
import { isFailure } from './cgroup/file-reader.ts';

const REFRESH_MS = 60_000;

export function parsePartitions(text: string): Map<string, string> {
  const names = new Map<string, string>();
  for (const line of text.split('\n')) {
    const f = line.trim().split(/\s+/);
    if (f.length < 4 || !/^\d+$/.test(f[0] ?? '') || !/^\d+$/.test(f[1] ?? '')) continue;
    names.set(`${f[0]}:${f[1]}`, `/dev/${f[3]}`);
  }
  return names;
}

export class BlockDeviceNames {
  readonly #file: string;
  readonly #reader: KernelFileReader;
  #names = new Map<string, string>();
  #readAt = -Infinity;

  constructor(procRoot: string, reader: KernelFileReader) {
    this.#file = `${procRoot}/partitions`;
    this.#reader = reader;
  }

  name(major: number, minor: number, now: number): string {
    const key = `${major}:${minor}`;
    const known = this.#names.get(key);
    if (known !== undefined) return known;
    if (now - this.#readAt >= REFRESH_MS) {
      this.#readAt = now;
      const text = this.#reader.read(this.#file);
      if (!isFailure(text)) this.#names = parsePartitions(text);
    }
    return this.#names.get(key) ?? key;
  }
}
