/**
 * Accepted HTTP status codes of a probe: `200-399` (the default, Rancher's "HTTP 2xx/3xx" check
 * and Kubernetes' httpGet rule), single codes, ranges and `2xx` classes, comma-separated:
 * `200,204`, `200-299,301`, `2xx,3xx`. Parsed once when the probe is declared, never per probe.
 */
export interface StatusRange {
  from: number;
  to: number;
}

export const DEFAULT_EXPECT = '200-399';

/** The ranges, or an error message. */
export function parseStatusRanges(text: string): StatusRange[] | string {
  const parts = text.split(',').map((p) => p.trim());
  const ranges: StatusRange[] = [];
  for (const part of parts) {
    const cls = /^([1-5])xx$/i.exec(part);
    const range = /^(\d{3})(?:\s*-\s*(\d{3}))?$/.exec(part);
    let r: StatusRange;
    if (cls) {
      const base = Number(cls[1]) * 100;
      r = { from: base, to: base + 99 };
    } else if (range) {
      r = { from: Number(range[1]), to: Number(range[2] ?? range[1]) };
    } else {
      return `"${text}" is not a list of status codes (e.g. 200-399, 200,204, 2xx)`;
    }
    if (r.from < 100 || r.to > 599 || r.from > r.to) return `"${part}" is not a status range between 100 and 599`;
    ranges.push(r);
  }
  return ranges;
}

export function statusAccepted(status: number, ranges: readonly StatusRange[]): boolean {
  for (const r of ranges) if (status >= r.from && status <= r.to) return true;
  return false;
}
