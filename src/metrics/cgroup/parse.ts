/**
 * Parsers for the kernel's cgroup and procfs text files. They run for every container on every
 * sweep (hundreds of containers × ~10 files), so they scan the text in place: no split(), no
 * per-line substrings, numbers parsed from char codes. Formats: Documentation/admin-guide/
 * cgroup-v2.rst ("Nested keyed", "Flat keyed", "Single value") and cgroup-v1/{memory,blkio-
 * controller,cpuacct}.rst.
 */

/** The decimal integer at `pos` (leading spaces skipped); NaN when there is none. Values above 2^53 lose precision (limits like 9223372036854771712): fine for metrics. */
export function parseNumberAt(text: string, pos: number): number {
  let i = pos;
  while (text.charCodeAt(i) === 32) i++;
  let negative = false;
  if (text.charCodeAt(i) === 45) {
    negative = true;
    i++;
  }
  let value = 0;
  const start = i;
  for (let c = text.charCodeAt(i); c >= 48 && c <= 57; c = text.charCodeAt(++i)) value = value * 10 + (c - 48);
  if (i === start) return NaN;
  return negative ? -value : value;
}

/** A single-value file (`memory.current`, `pids.current`); `max` → Infinity; null when unparseable. */
export function parseSingleValue(text: string): number | null {
  if (text.startsWith('max')) return Infinity;
  const v = parseNumberAt(text, 0);
  return Number.isNaN(v) ? null : v;
}

/**
 * Flat keyed file (`key value` per line: memory.stat, cpu.stat, memory.events, cpuacct.stat):
 * fills `out[i]` with the value of `keys[i]`, or null when the key is absent. Only whole keys
 * match (`file` does not match `file_mapped`).
 */
export function pickKeyed(text: string, keys: readonly string[], out: (number | null)[]): void {
  for (let k = 0; k < keys.length; k++) out[k] = null;
  let pos = 0;
  const len = text.length;
  while (pos < len) {
    let eol = text.indexOf('\n', pos);
    if (eol < 0) eol = len;
    for (let k = 0; k < keys.length; k++) {
      const key = keys[k] as string;
      if (out[k] === null && text.charCodeAt(pos + key.length) === 32 && text.startsWith(key, pos)) {
        const v = parseNumberAt(text, pos + key.length + 1);
        if (!Number.isNaN(v)) out[k] = v;
        break;
      }
    }
    pos = eol + 1;
  }
}

export interface BlockIoCounters {
  major: number;
  minor: number;
  readBytes: number;
  writeBytes: number;
  reads: number;
  writes: number;
}

function deviceEntry(map: Map<number, BlockIoCounters>, major: number, minor: number): BlockIoCounters {
  const key = major * 1_048_576 + minor;
  let e = map.get(key);
  if (!e) {
    e = { major, minor, readBytes: 0, writeBytes: 0, reads: 0, writes: 0 };
    map.set(key, e);
  }
  return e;
}

/** Parses `MAJ:MIN` at `pos`; returns [major, minor, position after] or undefined. */
function parseDevice(text: string, pos: number): [number, number, number] | undefined {
  const colon = text.indexOf(':', pos);
  if (colon < 0 || colon - pos > 10) return undefined;
  const major = parseNumberAt(text, pos);
  const minor = parseNumberAt(text, colon + 1);
  if (Number.isNaN(major) || Number.isNaN(minor)) return undefined;
  let i = colon + 1;
  while (text.charCodeAt(i) >= 48 && text.charCodeAt(i) <= 57) i++;
  return [major, minor, i];
}

/**
 * cgroup v1 `blkio.throttle.io_service_bytes` / `io_serviced` (`8:0 Read 4096` lines, plus
 * `Sync`/`Async`/`Discard`/`Total` per device and a final `Total N`): adds Read and Write per
 * device into `map`, as bytes or operations.
 */
export function addBlkioV1(text: string, map: Map<number, BlockIoCounters>, kind: 'bytes' | 'ops'): void {
  let pos = 0;
  const len = text.length;
  while (pos < len) {
    let eol = text.indexOf('\n', pos);
    if (eol < 0) eol = len;
    const dev = parseDevice(text, pos);
    if (dev) {
      const [major, minor, after] = dev;
      const opStart = after + 1;
      const isRead = text.startsWith('Read ', opStart);
      const isWrite = !isRead && text.startsWith('Write ', opStart);
      if (isRead || isWrite) {
        const v = parseNumberAt(text, opStart + (isRead ? 5 : 6));
        if (!Number.isNaN(v)) {
          const e = deviceEntry(map, major, minor);
          if (kind === 'bytes') {
            if (isRead) e.readBytes += v;
            else e.writeBytes += v;
          } else if (isRead) e.reads += v;
          else e.writes += v;
        }
      }
    }
    pos = eol + 1;
  }
}

/** cgroup v2 `io.stat`: `8:0 rbytes=1 wbytes=2 rios=3 wios=4 dbytes=0 dios=0` per device. */
export function parseIoStatV2(text: string): BlockIoCounters[] {
  const map = new Map<number, BlockIoCounters>();
  let pos = 0;
  const len = text.length;
  while (pos < len) {
    let eol = text.indexOf('\n', pos);
    if (eol < 0) eol = len;
    const dev = parseDevice(text, pos);
    if (dev) {
      const e = deviceEntry(map, dev[0], dev[1]);
      let i = dev[2];
      while (i < eol) {
        while (text.charCodeAt(i) === 32) i++;
        const eq = text.indexOf('=', i);
        if (eq < 0 || eq > eol) break;
        const v = parseNumberAt(text, eq + 1);
        if (!Number.isNaN(v)) {
          const keyLen = eq - i;
          if (keyLen === 6 && text.startsWith('rbytes', i)) e.readBytes = v;
          else if (keyLen === 6 && text.startsWith('wbytes', i)) e.writeBytes = v;
          else if (keyLen === 4 && text.startsWith('rios', i)) e.reads = v;
          else if (keyLen === 4 && text.startsWith('wios', i)) e.writes = v;
        }
        const sp = text.indexOf(' ', eq);
        i = sp < 0 || sp > eol ? eol : sp;
      }
    }
    pos = eol + 1;
  }
  return [...map.values()];
}
