/**
 * Content negotiation on the Accept header (RFC 9110 §12.5.1), as far as this API needs it: every
 * route answers with one media type (src/api/openapi.json says which), so the only question is
 * whether the client accepts it. The most specific range that matches decides (`text/plain;q=0,
 * *\/*` refuses text/plain); media type parameters other than q do not narrow a match. No header,
 * or one that cannot be parsed at all, accepts anything, as the RFC allows.
 */

interface MediaRange {
  type: string;
  subtype: string;
  q: number;
}

function parseRange(part: string): MediaRange | undefined {
  const [essence = '', ...params] = part.split(';').map((s) => s.trim());
  const m = /^([a-z0-9!#$%&'*+.^_`|~-]+)\/([a-z0-9!#$%&'*+.^_`|~-]+)$/i.exec(essence);
  if (!m) return undefined;
  let q = 1;
  for (const p of params) {
    const qm = /^q\s*=\s*([0-9.]+)$/i.exec(p);
    if (qm) q = Math.min(1, Math.max(0, Number(qm[1]) || 0));
  }
  return { type: (m[1] as string).toLowerCase(), subtype: (m[2] as string).toLowerCase(), q };
}

/** True when the Accept header allows `mediaType` (a type/subtype such as `application/json`). */
export function accepts(header: string | undefined, mediaType: string): boolean {
  if (header === undefined || header.trim() === '') return true;
  const ranges = header.split(',').map(parseRange).filter((r): r is MediaRange => r !== undefined);
  if (ranges.length === 0) return true;
  const [type = '', subtype = ''] = mediaType.toLowerCase().split('/');
  let best: { specificity: number; q: number } | undefined;
  for (const r of ranges) {
    const specificity = r.type === type && r.subtype === subtype ? 2 : r.type === type && r.subtype === '*' ? 1 : r.type === '*' && r.subtype === '*' ? 0 : -1;
    if (specificity < 0) continue;
    if (!best || specificity > best.specificity || (specificity === best.specificity && r.q > best.q)) best = { specificity, q: r.q };
  }
  return best !== undefined && best.q > 0;
}
