/**
 * Lumberjack protocol version 2 frames, as the code defines them — elastic/go-lumber
 * `protocol/v2/protocol.go` (codes), `client/v2/client.go` (what a client writes) and
 * `server/v2/reader.go` / `writer.go` (what a server accepts and answers); Logstash's beats input
 * (`BeatsParser.java`, `BeatsHandler.java`) agrees. go-lumber's PROTOCOL.md does not (it still
 * describes v1 data frames and a sequence that runs across windows), so it is not used.
 *
 * All integers are unsigned 32-bit big-endian. Every frame starts with the version byte '2':
 *
 *   window      '2' 'W' count                 — the next `count` events form one window
 *   JSON data   '2' 'J' seq len payload       — seq runs 1..count inside each window
 *   compressed  '2' 'C' len zlib(frames)      — zlib (RFC 1950, not gzip/raw) of J frames
 *   ACK         '2' 'A' seq                   — server → client: events 1..seq of the oldest
 *                                               unfinished window are done
 *
 * The window frame stays outside the compressed frame (client.go writes `2W` first, then `2C`
 * wrapping all J frames of the window). Logstash ACKs the highest sequence number it has seen in
 * the window (V2Batch.getHighestSequence), so sequence numbers must restart at 1 in every
 * window or its ACKs stop matching.
 */
import { deflate } from 'node:zlib';
import { spansOf } from '../event-spans.ts';
import type { EventList } from '../event-spans.ts';

export const VERSION = 0x32; // '2'
export const CODE_WINDOW = 0x57; // 'W'
export const CODE_JSON = 0x4a; // 'J'
export const CODE_COMPRESSED = 0x43; // 'C'
export const CODE_ACK = 0x41; // 'A'

export const WINDOW_HEADER_BYTES = 6;
export const JSON_HEADER_BYTES = 10;
export const COMPRESSED_HEADER_BYTES = 6;
export const ACK_BYTES = 6;

/** A peer sent bytes that are not Lumberjack v2 (bad version, unknown frame type, bad sequence). */
export class LumberjackProtocolError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'LumberjackProtocolError';
  }
}

/** Bytes of the J frames of events[start, end). */
export function jsonFramesLength(events: EventList, start: number, end: number): number {
  return JSON_HEADER_BYTES * (end - start) + spansOf(events).slice(start, end).bytes;
}

/**
 * Writes the J frames of events[start, end) into `target` at `offset`, sequence numbers from 1.
 * Returns the offset after the last frame. One memcpy per event, no allocation.
 */
export function writeJsonFrames(target: Buffer, offset: number, events: EventList, start: number, end: number): number {
  const spans = spansOf(events);
  let pos = offset;
  let seq = 1;
  for (let i = start; i < end; i++) {
    const from = spans.start(i);
    const length = spans.size(i);
    target[pos] = VERSION;
    target[pos + 1] = CODE_JSON;
    target.writeUInt32BE(seq++, pos + 2);
    target.writeUInt32BE(length, pos + 6);
    spans.memory(i).copy(target, pos + JSON_HEADER_BYTES, from, from + length);
    pos += JSON_HEADER_BYTES + length;
  }
  return pos;
}

export function writeWindowHeader(target: Buffer, offset: number, count: number): number {
  target[offset] = VERSION;
  target[offset + 1] = CODE_WINDOW;
  target.writeUInt32BE(count, offset + 2);
  return offset + WINDOW_HEADER_BYTES;
}

export function writeCompressedHeader(target: Buffer, offset: number, payloadLength: number): number {
  target[offset] = VERSION;
  target[offset + 1] = CODE_COMPRESSED;
  target.writeUInt32BE(payloadLength, offset + 2);
  return offset + COMPRESSED_HEADER_BYTES;
}

/** Bytes of a whole uncompressed window (`2W` + J frames) of events[start, end). */
export function windowLength(events: EventList, start: number, end: number): number {
  return WINDOW_HEADER_BYTES + jsonFramesLength(events, start, end);
}

/** Writes a whole uncompressed window into `target` (at least windowLength bytes); returns its length. */
export function writeWindow(target: Buffer, events: EventList, start: number, end: number): number {
  return writeJsonFrames(target, writeWindowHeader(target, 0, end - start), events, start, end);
}

/** A whole uncompressed window (`2W` + J frames) in one new buffer: one socket write. */
export function encodeWindow(events: EventList, start = 0, end = events.length): Buffer {
  const out = Buffer.allocUnsafe(windowLength(events, start, end));
  writeWindow(out, events, start, end);
  return out;
}

/** The header of a compressed window: `2W count 2C payloadLength`. */
export function compressedWindowHeader(count: number, payloadLength: number): Buffer {
  const header = Buffer.allocUnsafe(WINDOW_HEADER_BYTES + COMPRESSED_HEADER_BYTES);
  writeCompressedHeader(header, writeWindowHeader(header, 0, count), payloadLength);
  return header;
}

/**
 * A compressed window as [header, zlib payload] (tests and simple callers; the connection uses
 * a reused deflate context, compressor.ts). The frames are copied synchronously.
 */
export function encodeCompressedWindow(events: EventList, start: number, end: number, level: number): Promise<[Buffer, Buffer]> {
  const plain = Buffer.allocUnsafe(jsonFramesLength(events, start, end));
  writeJsonFrames(plain, 0, events, start, end);
  return new Promise((resolve, reject) => {
    deflate(plain, { level }, (err, payload) => {
      if (err) return reject(err);
      resolve([compressedWindowHeader(end - start, payload.length), payload]);
    });
  });
}

export function encodeAck(seq: number): Buffer {
  const out = Buffer.allocUnsafe(ACK_BYTES);
  out[0] = VERSION;
  out[1] = CODE_ACK;
  out.writeUInt32BE(seq, 2);
  return out;
}

/**
 * Collects ACK frames from a byte stream that TCP may split anywhere. Anything but `2A` is a
 * protocol error (go-lumber client.go ReceiveACK: "lumberjack protocol error").
 */
export class AckReader {
  readonly #partial = Buffer.alloc(ACK_BYTES);
  #have = 0;

  /** Calls `onAck(seq)` for every complete ACK in `chunk`; throws LumberjackProtocolError. */
  push(chunk: Buffer, onAck: (seq: number) => void): void {
    let pos = 0;
    if (this.#have > 0) {
      const take = Math.min(ACK_BYTES - this.#have, chunk.length);
      chunk.copy(this.#partial, this.#have, 0, take);
      this.#have += take;
      pos = take;
      if (this.#have < ACK_BYTES) return;
      this.#have = 0;
      onAck(readAck(this.#partial, 0));
    }
    while (chunk.length - pos >= ACK_BYTES) {
      onAck(readAck(chunk, pos));
      pos += ACK_BYTES;
    }
    if (pos < chunk.length) {
      // Check what we can already: a wrong version or type should not wait for more bytes.
      if (chunk[pos] !== VERSION || (pos + 1 < chunk.length && chunk[pos + 1] !== CODE_ACK)) readAck(chunk, pos);
      chunk.copy(this.#partial, 0, pos);
      this.#have = chunk.length - pos;
    }
  }
}

function readAck(buf: Buffer, pos: number): number {
  if (buf[pos] !== VERSION) throw new LumberjackProtocolError(`expected protocol version '2' (0x32), got 0x${hex(buf[pos])}`);
  if (buf[pos + 1] !== CODE_ACK) throw new LumberjackProtocolError(`expected an ACK frame '2A', got frame type 0x${hex(buf[pos + 1])}`);
  return buf.readUInt32BE(pos + 2);
}

function hex(byte: number | undefined): string {
  return (byte ?? 0).toString(16).padStart(2, '0');
}

export type DecodedFrame =
  | { type: 'window'; count: number }
  | { type: 'json'; seq: number; payload: Buffer }
  | { type: 'compressed'; payload: Buffer }
  | { type: 'ack'; seq: number };

/**
 * Decodes one frame at `pos`: the frame and the position after it, or null when `buf` does not
 * hold the whole frame yet. Throws LumberjackProtocolError on a bad version or frame type, or a
 * payload larger than `maxPayload`. Payloads are views into `buf` (no copy).
 */
export function decodeFrame(buf: Buffer, pos: number, maxPayload = 64 * 1024 * 1024): { frame: DecodedFrame; next: number } | null {
  if (buf.length - pos < 2) return null;
  if (buf[pos] !== VERSION) throw new LumberjackProtocolError(`expected protocol version '2' (0x32), got 0x${hex(buf[pos])}`);
  const type = buf[pos + 1];
  switch (type) {
    case CODE_WINDOW:
    case CODE_ACK: {
      if (buf.length - pos < 6) return null;
      const n = buf.readUInt32BE(pos + 2);
      return { frame: type === CODE_WINDOW ? { type: 'window', count: n } : { type: 'ack', seq: n }, next: pos + 6 };
    }
    case CODE_JSON: {
      if (buf.length - pos < JSON_HEADER_BYTES) return null;
      const seq = buf.readUInt32BE(pos + 2);
      const len = buf.readUInt32BE(pos + 6);
      if (len > maxPayload) throw new LumberjackProtocolError(`JSON frame of ${len} bytes exceeds the ${maxPayload}-byte limit`);
      const end = pos + JSON_HEADER_BYTES + len;
      if (buf.length < end) return null;
      return { frame: { type: 'json', seq, payload: buf.subarray(pos + JSON_HEADER_BYTES, end) }, next: end };
    }
    case CODE_COMPRESSED: {
      if (buf.length - pos < COMPRESSED_HEADER_BYTES) return null;
      const len = buf.readUInt32BE(pos + 2);
      if (len > maxPayload) throw new LumberjackProtocolError(`compressed frame of ${len} bytes exceeds the ${maxPayload}-byte limit`);
      const end = pos + COMPRESSED_HEADER_BYTES + len;
      if (buf.length < end) return null;
      return { frame: { type: 'compressed', payload: buf.subarray(pos + COMPRESSED_HEADER_BYTES, end) }, next: end };
    }
    default:
      throw new LumberjackProtocolError(`unknown frame type 0x${hex(type)}`);
  }
}
