// The strict test receiver must itself be right: hand-made byte streams over real sockets on
// 127.0.0.1, good ones (split at every byte) ACKed, bad ones refused with a reason.
import assert from 'node:assert/strict';
import { connect } from 'node:net';
import { after, test } from 'node:test';
import { deflateSync } from 'node:zlib';
import { encodeAck, encodeWindow } from '../../src/outputs/beats/frames.ts';
import { BeatsReceiver } from '../helpers/beats-receiver.ts';
import { waitFor } from '../helpers/wait.ts';

const receivers: BeatsReceiver[] = [];
after(async () => {
  for (const r of receivers) await r.close();
});

async function receiver(options: Parameters<typeof BeatsReceiver.start>[0] = {}): Promise<BeatsReceiver> {
  const r = await BeatsReceiver.start(options);
  receivers.push(r);
  return r;
}

/** Writes `chunks` (one write each, a tick apart) and returns everything the receiver answered once it closes or goes quiet. */
async function exchange(r: BeatsReceiver, chunks: Buffer[], expectAckBytes = 0): Promise<Buffer> {
  const socket = connect(r.port, '127.0.0.1');
  const got: Buffer[] = [];
  let closed = false;
  socket.on('data', (c: Buffer) => got.push(c));
  socket.on('close', () => (closed = true));
  socket.on('error', () => {});
  await new Promise((res) => socket.once('connect', res));
  for (const c of chunks) {
    if (closed) break;
    socket.write(c);
    await new Promise((res) => setImmediate(res));
  }
  await waitFor('answer or close', () => closed || (expectAckBytes > 0 && Buffer.concat(got).length >= expectAckBytes));
  socket.destroy();
  return Buffer.concat(got);
}

const j = (seq: number, payload: string): Buffer => {
  const b = Buffer.alloc(10);
  b.write('2J');
  b.writeUInt32BE(seq, 2);
  b.writeUInt32BE(Buffer.byteLength(payload), 6);
  return Buffer.concat([b, Buffer.from(payload)]);
};
const w = (count: number): Buffer => {
  const b = Buffer.from('2W\0\0\0\0');
  b.writeUInt32BE(count, 2);
  return b;
};
const c = (inner: Buffer): Buffer => {
  const z = deflateSync(inner);
  const b = Buffer.from('2C\0\0\0\0');
  b.writeUInt32BE(z.length, 2);
  return Buffer.concat([b, z]);
};

test('a valid stream, split at every byte, is parsed and ACKed per window', async () => {
  const r = await receiver();
  const stream = Buffer.concat([encodeWindow([Buffer.from('{"a":1}'), Buffer.from('{"b":2}')]), w(1), c(j(1, '{"c":3}'))]);
  const answer = await exchange(r, [...stream].map((byte) => Buffer.from([byte])), 12);
  assert.deepEqual(answer, Buffer.concat([encodeAck(2), encodeAck(1)]));
  assert.deepEqual(r.errors, []);
  assert.deepEqual(r.events.map((e) => [e.json, e.window, e.seq]), [[{ a: 1 }, 1, 1], [{ b: 2 }, 1, 2], [{ c: 3 }, 2, 1]]);
  assert.deepEqual(r.windows.map((x) => x.compressed), [false, true]);
});

/** [what, bytes, reason, ACK bytes expected before the refusal (a complete first window is ACKed)] */
const bad: [string, Buffer, RegExp, number?][] = [
  ['version 1 frames', Buffer.from('1W\0\0\0\x01'), /expected protocol version '2'/],
  ['an unknown frame type', Buffer.from('2X\0\0\0\x01'), /unknown frame type 0x58/],
  ['data before any window', j(1, '{}'), /outside a window/],
  ['sequence numbers from 0', Buffer.concat([w(2), j(0, '{}')]), /sequence number 0 where 1 was expected/],
  ['a skipped sequence number', Buffer.concat([w(3), j(1, '{}'), j(3, '{}')]), /sequence number 3 where 2/],
  ['sequence numbers running across windows', Buffer.concat([w(1), j(1, '{}'), w(1), j(2, '{}')]), /sequence number 2 where 1/, 6],
  ['a window inside a window', Buffer.concat([w(2), j(1, '{}'), w(1)]), /window frame inside window 1/],
  ['an empty window', w(0), /window of 0 events/],
  ['a window above the maximum', w(101), /window of 101 events \(allowed 1\.\.100\)/],
  ['a payload that is not a JSON object', Buffer.concat([w(1), j(1, '[1,2]')]), /not a JSON object/],
  ['invalid JSON', Buffer.concat([w(1), j(1, '{"a":}')]), /not valid JSON/],
  ['a compressed frame that is not zlib', Buffer.concat([w(1), Buffer.from('2C\0\0\0\x03abc')]), /does not inflate/],
  ['a window frame inside a compressed frame', Buffer.concat([w(1), c(w(1))]), /holds a window frame/],
  ['more compressed events than the window has', Buffer.concat([w(1), c(Buffer.concat([j(1, '{}'), j(2, '{}')]))]), /more events than its window/, 6],
  ['an ACK from the client', encodeAck(1), /the client sent an ACK frame/],
];

for (const [what, bytes, reason, acked = 0] of bad) {
  test(`the receiver refuses ${what}`, async () => {
    const r = await receiver({ maxWindow: 100 });
    const answer = await exchange(r, [bytes]);
    assert.equal(answer.length, acked, 'no ACK for the bad window');
    assert.equal(r.errors.length, 1);
    assert.match(r.errors[0] ?? '', reason);
  });
}
