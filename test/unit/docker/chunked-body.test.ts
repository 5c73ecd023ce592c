import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import type { Server } from 'node:http';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import Docker from 'dockerode';
import { ChunkedBody, ChunkedBodyError } from '../../../src/docker/chunked-body.ts';
import { DockerApiError, rawGet } from '../../../src/docker/raw-stream.ts';

/** A chunked body as a server writes it: each payload its own chunk, with an extension and a trailer for good measure. */
function chunked(payloads: string[]): Buffer {
  const parts = payloads.map((p, i) => `${Buffer.byteLength(p).toString(16)}${i === 1 ? ';ext=1' : ''}\r\n${p}\r\n`);
  return Buffer.from(`${parts.join('')}0\r\nX-Trailer: yes\r\n\r\n`);
}

/** Feeds `wire` cut at the given points; returns the body and whether the decoder saw its end. */
function decode(wire: Buffer, cuts: number[]): { body: string; done: boolean } {
  const dec = new ChunkedBody({ chunked: true, contentLength: null });
  const out: Buffer[] = [];
  let from = 0;
  for (const to of [...cuts, wire.length]) {
    out.push(Buffer.from(dec.push(Buffer.from(wire.subarray(from, to)))));
    from = to;
  }
  return { body: Buffer.concat(out).toString(), done: dec.done };
}

test('chunked bodies decode the same whatever the reads look like: every single cut point, and byte by byte', () => {
  const payloads = ['hello\n', 'x'.repeat(300), '', 'é€\n'].filter((p) => p !== '');
  const wire = chunked(payloads);
  const expected = payloads.join('');
  assert.deepEqual(decode(wire, []), { body: expected, done: true });
  for (let cut = 1; cut < wire.length; cut++) assert.deepEqual(decode(wire, [cut]), { body: expected, done: true }, `cut at ${cut}`);
  assert.deepEqual(
    decode(
      wire,
      Array.from({ length: wire.length - 1 }, (_, i) => i + 1),
    ),
    { body: expected, done: true },
  );
});

test('bytes after the terminating chunk are not body; a body without its last chunk is not done', () => {
  const wire = Buffer.concat([chunked(['abc']), Buffer.from('GARBAGE')]);
  assert.deepEqual(decode(wire, []), { body: 'abc', done: true });
  const cut = chunked(['abc', 'def']);
  assert.deepEqual(decode(cut.subarray(0, cut.length - 5), []), { body: 'abcdef', done: false });
});

test('malformed framing is an error, not a guess', () => {
  for (const bad of ['zz\r\nabc\r\n', '3\r\nabcX\r\n', '123456789\r\n', '\r\n']) {
    const dec = new ChunkedBody({ chunked: true, contentLength: null });
    assert.throws(() => dec.push(Buffer.from(bad)), ChunkedBodyError, bad);
  }
});

test('Content-Length and read-until-close bodies', () => {
  const fixed = new ChunkedBody({ chunked: false, contentLength: 5 });
  assert.equal(fixed.push(Buffer.from('abc')).toString(), 'abc');
  assert.equal(fixed.done, false);
  assert.equal(fixed.push(Buffer.from('defgh')).toString(), 'de');
  assert.equal(fixed.done, true);
  const open = new ChunkedBody({ chunked: false, contentLength: null });
  assert.equal(open.push(Buffer.from('anything')).toString(), 'anything');
  assert.equal(open.done, false);
});

// rawGet against Node's own HTTP server on a unix socket: a real chunked body, one chunk per write.
const dir = mkdtempSync(join(tmpdir(), 'dockhand-raw-'));
const socketPath = join(dir, 'api.sock');
let server: Server | undefined;
after(() => {
  server?.close();
  rmSync(dir, { recursive: true, force: true });
});

test('rawGet: a followed body from a real HTTP server arrives whole, in few reads; errors carry statusCode and the message', async () => {
  const messages = Array.from({ length: 5000 }, (_, i) => `line ${i} ${'y'.repeat(i % 97)}\n`);
  server = createServer((req, res) => {
    if (req.url === '/containers/gone/logs?follow=1') {
      res.writeHead(404, { 'Content-Type': 'application/json' });
      res.end(JSON.stringify({ message: 'No such container: gone' }));
      return;
    }
    assert.equal(req.url, '/containers/abc/logs?follow=1');
    res.writeHead(200, { 'Content-Type': 'application/vnd.docker.multiplexed-stream' });
    for (const m of messages) res.write(m);
    res.end();
  });
  await new Promise<void>((resolve) => server?.listen(socketPath, resolve));
  const docker = new Docker({ socketPath });
  const body = await rawGet(docker, '/containers/abc/logs?follow=1', new AbortController().signal);
  const got: Buffer[] = [];
  const ended = new Promise<void>((resolve, reject) => {
    body.on('data', (b: Buffer) => got.push(Buffer.from(b)));
    body.on('end', resolve);
    body.on('error', reject);
  });
  body.start();
  await ended;
  assert.equal(Buffer.concat(got).toString(), messages.join(''));
  assert.ok(got.length < messages.length / 10, `${got.length} data events for ${messages.length} chunks`);
  await assert.rejects(rawGet(docker, '/containers/gone/logs?follow=1', new AbortController().signal), (err: unknown) => {
    assert.ok(err instanceof DockerApiError);
    assert.equal(err.statusCode, 404);
    assert.match(err.message, /No such container: gone/);
    return true;
  });
  const aborted = new AbortController();
  aborted.abort();
  await assert.rejects(rawGet(docker, '/containers/abc/logs?follow=1', aborted.signal), { name: 'AbortError' });
});
