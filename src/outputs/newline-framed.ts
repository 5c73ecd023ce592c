/**
 * Memory in which every event is followed by a newline byte and holds none itself: the event
 * encoder's slabs (src/logs/event-encoder.ts) are marked here when they are made. The json_lines
 * output writes a run of consecutive events from such memory as it lies — the newlines between
 * them are already json_lines' framing — instead of copying each event and scanning it for raw
 * newlines (the encoder escapes every control character). Other events (Docker lifecycle
 * records, events too large for a slab, events from elsewhere) are copied and scanned.
 */
const framed = new WeakSet<ArrayBufferLike>();

export function markNewlineFramed(memory: ArrayBufferLike): void {
  framed.add(memory);
}

export function isNewlineFramed(memory: ArrayBufferLike): boolean {
  return framed.has(memory);
}
