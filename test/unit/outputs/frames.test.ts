import assert from 'node:assert/strict';
import { test } from 'node:test';
import { inflateSync } from 'node:zlib';
import { AckReader, decodeFrame, encodeAck, encodeCompressedWindow, encodeWindow, LumberjackProtocolError } from '../../../src/outputs/beats/frames.ts';
import type { DecodedFrame } from '../../../src/outputs/beats/frames.ts';

const ev = (s: string): Buffer => Buffer.from(s);

function decodeAll(buf: Buffer): DecodedFrame[] {
  const frames: DecodedFrame[] = [];
  let pos = 0;
  while (pos < buf.length) {
    const r = decodeFrame(buf, pos);
    if (r === null) throw new Error(`truncated at ${pos}`);
    frames.push(r.frame);
    pos = r.next;
  }
  return frames;
}

test('a window is 2W count, then 2J seq len payload per event, big-endian (go-lumber client.go)', () => {
  const bytes = encodeWindow([ev('{"a":1}'), ev('{}')]);
  const expected = Buffer.concat([
    Buffer.from([0x32, 0x57, 0, 0, 0, 2]),
    Buffer.from([0x32, 0x4a, 0, 0, 0, 1, 0, 0, 0, 7]), ev('{"a":1}'),
    Buffer.from([0x32, 0x4a, 0, 0, 0, 2, 0, 0, 0, 2]), ev('{}'),
  ]);
  assert.deepEqual(bytes, expected);
});

test('sequence numbers restart at 1 in every window, also for a slice of a batch', () => {
  const events = Array.from({ length: 10 }, (_, i) => ev(`{"n":${i}}`));
  const frames = decodeAll(encodeWindow(events, 6, 9));
  assert.deepEqual(frames[0], { type: 'window', count: 3 });
  assert.deepEqual(frames.slice(1).map((f) => (f.type === 'json' ? [f.seq, f.payload.toString()] : null)), [[1, '{"n":6}'], [2, '{"n":7}'], [3, '{"n":8}']]);
});

test('a compressed window keeps 2W outside and zlib-wraps exactly the J frames', async () => {
  const events = Array.from({ length: 50 }, (_, i) => ev(`{"n":${i},"m":"${'x'.repeat(i)}"}`));
  const [header, payload] = await encodeCompressedWindow(events, 10, 40, 6);
  assert.deepEqual(decodeFrame(header, 0)?.frame, { type: 'window', count: 30 });
  assert.deepEqual(header.subarray(6, 8), Buffer.from('2C'));
  assert.equal(header.readUInt32BE(8), payload.length);
  assert.equal(payload[0], 0x78, 'zlib (RFC 1950) header, not gzip or raw deflate');
  assert.deepEqual(inflateSync(payload), encodeWindow(events, 10, 40).subarray(6));
});

test('the encoder copies: changing an event after encoding does not change the frame', async () => {
  const e = ev('{"k":"v"}');
  const plain = encodeWindow([e]);
  const compressed = encodeCompressedWindow([e], 0, 1, 1);
  e.fill(0x20);
  const frame = decodeAll(plain)[1];
  assert.equal(frame?.type === 'json' ? frame.payload.toString() : null, '{"k":"v"}');
  const [, payload] = await compressed;
  assert.match(inflateSync(payload).toString(), /\{"k":"v"\}/);
});

test('decodeFrame waits for whole frames and rejects bad versions, types and sizes', () => {
  const win = encodeWindow([ev('{"a":1}')]);
  for (let cut = 0; cut < 6; cut++) assert.equal(decodeFrame(win.subarray(0, cut), 0), null, `window header cut at ${cut}`);
  for (let cut = 6; cut < win.length; cut++) {
    const r = decodeFrame(win.subarray(0, cut), 6);
    assert.equal(r, null, `json frame cut at ${cut}`);
  }
  assert.throws(() => decodeFrame(Buffer.from('1W\0\0\0\x01'), 0), LumberjackProtocolError);
  assert.throws(() => decodeFrame(Buffer.from('2D\0\0\0\x01'), 0), /unknown frame type 0x44/);
  assert.throws(() => decodeFrame(Buffer.from([0x32, 0x4a, 0, 0, 0, 1, 0x10, 0, 0, 0]), 0, 1024), /exceeds/);
  assert.deepEqual(decodeFrame(encodeAck(7), 0), { frame: { type: 'ack', seq: 7 }, next: 6 });
});

test('AckReader reassembles ACKs split at any byte and several per chunk', () => {
  const stream = Buffer.concat([encodeAck(0), encodeAck(5), encodeAck(0x01020304), encodeAck(10)]);
  for (let a = 0; a <= stream.length; a++) {
    for (let b = a; b <= stream.length; b++) {
      const reader = new AckReader();
      const seen: number[] = [];
      for (const chunk of [stream.subarray(0, a), stream.subarray(a, b), stream.subarray(b)]) reader.push(chunk, (s) => seen.push(s));
      assert.deepEqual(seen, [0, 5, 0x01020304, 10], `split at ${a},${b}`);
    }
  }
});

test('AckReader refuses anything but 2A, even before the frame is complete', () => {
  assert.throws(() => new AckReader().push(Buffer.from('2W\0\0\0\x01'), () => {}), /expected an ACK frame '2A', got frame type 0x57/);
  assert.throws(() => new AckReader().push(Buffer.from('1'), () => {}), /expected protocol version '2'/);
  assert.throws(() => new AckReader().push(Buffer.concat([encodeAck(1), Buffer.from('2J')]), () => {}), /frame type 0x4a/);
  const r = new AckReader();
  r.push(Buffer.from('2'), () => {});
  assert.throws(() => r.push(Buffer.from('X\0\0\0\0'), () => {}), /frame type 0x58/);
});
