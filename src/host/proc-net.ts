/**
 * Per-interface network counters from /proc/<pid>/net/dev, which shows the network namespace of
 * process <pid>: reading it for a container's init process gives the container's interfaces
 * without entering the namespace or holding a namespace fd open (an open net/dev, like an open
 * /proc/<pid>/ns/net, would keep the namespace alive after the container is gone).
 */

/** One network interface's counters, as /proc/<pid>/net/dev has them. */
export interface NetworkInterfaceFigures {
  name: string;
  rxBytes: number;
  rxPackets: number;
  rxErrors: number;
  rxDropped: number;
  txBytes: number;
  txPackets: number;
  txErrors: number;
  txDropped: number;
}

/** Interface name filter: exact names, or prefixes written `veth*`. */
export class InterfaceFilter {
  readonly #exact: Set<string>;
  readonly #prefixes: string[];

  constructor(patterns: readonly string[]) {
    this.#exact = new Set(patterns.filter((p) => !p.endsWith('*')));
    this.#prefixes = patterns.filter((p) => p.endsWith('*')).map((p) => p.slice(0, -1));
  }

  excludes(name: string): boolean {
    return this.#exact.has(name) || this.#prefixes.some((p) => name.startsWith(p));
  }
}

/**
 * Parses net/dev (two header lines, then `name: 16 counters`; the colon may touch the first
 * number when it is wide). Counters: rx bytes packets errs drop fifo frame compressed multicast,
 * tx bytes packets errs drop fifo colls carrier compressed.
 */
export function parseNetDev(text: string, filter?: InterfaceFilter): NetworkInterfaceFigures[] {
  const out: NetworkInterfaceFigures[] = [];
  const fields = new Array<number>(16);
  let pos = 0;
  const len = text.length;
  while (pos < len) {
    let eol = text.indexOf('\n', pos);
    if (eol < 0) eol = len;
    const colon = text.indexOf(':', pos);
    if (colon > pos && colon < eol) {
      const name = text.slice(pos, colon).trim();
      if (name !== '' && !name.includes('|') && !filter?.excludes(name)) {
        let i = colon + 1;
        let n = 0;
        while (n < 16 && i < eol) {
          while (text.charCodeAt(i) === 32) i++;
          let value = 0;
          const start = i;
          for (let c = text.charCodeAt(i); c >= 48 && c <= 57; c = text.charCodeAt(++i)) value = value * 10 + (c - 48);
          if (i === start) break;
          fields[n++] = value;
        }
        if (n >= 12) {
          out.push({
            name,
            rxBytes: fields[0] ?? 0,
            rxPackets: fields[1] ?? 0,
            rxErrors: fields[2] ?? 0,
            rxDropped: fields[3] ?? 0,
            txBytes: fields[8] ?? 0,
            txPackets: fields[9] ?? 0,
            txErrors: fields[10] ?? 0,
            txDropped: fields[11] ?? 0,
          });
        }
      }
    }
    pos = eol + 1;
  }
  return out;
}
