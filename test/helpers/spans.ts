/** Encoded events handed over as spans (src/logs/line-events.ts), as Buffer views: what tests compare. */
import type { EncodedSpans } from '../../src/logs/line-events.ts';

export function views(spans: EncodedSpans): Buffer[] {
  return Array.from({ length: spans.count }, (_, i) => {
    const start = spans.starts[i] as number;
    return (spans.memories[i] as Buffer).subarray(start, start + (spans.lengths[i] as number));
  });
}

/** The offsets the events end at. */
export function endsOf(spans: EncodedSpans): number[] {
  return Array.from(spans.ends).slice(0, spans.count);
}
