import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { loadConfig } from '../../../src/configuration.ts';
import { ConfigError } from '../../../src/core/errors.ts';
import type { ContainerRecord } from '../../../src/docker/types.ts';
import { DockerLogParser } from '../../../src/logs/containers/docker-stream.ts';
import { ContainerPositions, LAG_SECONDS } from '../../../src/logs/containers/positions.ts';
import type { ContainerPosition } from '../../../src/logs/containers/positions.ts';
import { ContainerSelection } from '../../../src/logs/containers/selectors.ts';

function frame(stream: 1 | 2, payload: string | Buffer): Buffer {
  const body = typeof payload === 'string' ? Buffer.from(payload) : payload;
  const head = Buffer.alloc(8);
  head[0] = stream;
  head.writeUInt32BE(body.length, 4);
  return Buffer.concat([head, body]);
}

interface Msg { stream: number; text: string; partial: boolean; sec: number; nanos: number }

function parse(tty: boolean, chunks: Buffer[]): Msg[] {
  const out: Msg[] = [];
  const p = new DockerLogParser(tty, (stream, buf, from, to, partial, ts) => out.push({ stream, text: buf.toString('utf8', from, to), partial, sec: ts.sec, nanos: ts.nanos }));
  for (const c of chunks) p.push(c);
  p.end();
  return out;
}

test('multiplexed frames: stream, timestamp (ns kept), content without its newline; no newline = partial; any chunking', () => {
  const body = Buffer.concat([
    frame(1, '2026-12-01T07:53:53.123456789Z hello\n'),
    frame(2, '2026-12-01T07:53:53.123456790Z oops\n'),
    frame(1, '2026-12-01T07:53:54.000000001Z piece'),
    frame(1, '2026-12-01T07:53:54.000000002Z \n'),
  ]);
  const sec = Date.parse('2026-12-01T07:53:53Z') / 1000;
  const expected: Msg[] = [
    { stream: 1, text: 'hello', partial: false, sec, nanos: 123456789 },
    { stream: 2, text: 'oops', partial: false, sec, nanos: 123456790 },
    { stream: 1, text: 'piece', partial: true, sec: sec + 1, nanos: 1 },
    { stream: 1, text: '', partial: false, sec: sec + 1, nanos: 2 },
  ];
  assert.deepEqual(parse(false, [body]), expected);
  for (const size of [1, 3, 7, 8, 9, 40]) {
    const chunks: Buffer[] = [];
    for (let i = 0; i < body.length; i += size) chunks.push(body.subarray(i, i + size));
    assert.deepEqual(parse(false, chunks), expected, `chunks of ${size}`);
  }
});

test('TTY: raw lines, CRLF stripped, a last line without newline is partial', () => {
  const raw = Buffer.from('2026-12-01T07:53:53.5Z one\r\n2026-12-01T07:53:53.600000000Z two\r\n2026-12-01T07:53:53.7Z thr');
  const msgs = parse(true, [raw.subarray(0, 5), raw.subarray(5, 40), raw.subarray(40)]);
  assert.deepEqual(msgs.map((m) => [m.stream, m.text, m.partial, m.nanos]), [
    [1, 'one', false, 500_000_000],
    [1, 'two', false, 600_000_000],
    [1, 'thr', true, 700_000_000],
  ]);
});

test('TTY: a line over 16 KiB comes as pieces of exactly 16 KiB, each with its own timestamp: split there, whatever the chunking', () => {
  // As dockerd 20.10 returns `head -c 40000 | tr; echo; echo short; 16384 b's; echo` from a TTY container.
  const ts = (n: number): string => `2026-12-01T07:53:5${n}.00000000${n}Z `;
  const raw = Buffer.from(`${ts(1)}${'a'.repeat(16384)}${ts(2)}${'a'.repeat(16384)}${ts(3)}${'a'.repeat(7232)}\r\n${ts(4)}short\r\n${ts(5)}${'b'.repeat(16384)}${ts(6)}\r\n${ts(7)}${'c'.repeat(16383)}\n`);
  const expected = [
    ['a'.repeat(16384), true],
    ['a'.repeat(16384), true],
    ['a'.repeat(7232), false],
    ['short', false],
    ['b'.repeat(16384), true],
    ['', false],
    ['c'.repeat(16383), false],
  ];
  assert.deepEqual(parse(true, [raw]).map((m) => [m.text, m.partial]), expected);
  for (const size of [1000, 4096, 16384, 16400, 20000]) {
    const chunks: Buffer[] = [];
    for (let i = 0; i < raw.length; i += size) chunks.push(raw.subarray(i, i + size));
    assert.deepEqual(parse(true, chunks).map((m) => [m.text, m.partial]), expected, `chunks of ${size}`);
  }
  // A long line the daemon did not cut (no timestamp 16 KiB in) is one line, up to its newline.
  const uncut = Buffer.from(`${ts(1)}${'d'.repeat(20000)}\n`);
  assert.deepEqual(parse(true, [uncut.subarray(0, 9000), uncut.subarray(9000)]).map((m) => [m.text.length, m.partial]), [[20000, false]]);
});

test('a payload without a readable timestamp is still delivered whole, and counted', () => {
  const out: string[] = [];
  const p = new DockerLogParser(false, (_s, buf, from, to) => out.push(buf.toString('utf8', from, to)));
  p.push(frame(1, 'no timestamp here\n'));
  assert.deepEqual(out, ['no timestamp here']);
  assert.equal(p.badTimestamps, 1);
});

test('positions: acknowledged in any order, saved only over a fully acknowledged prefix; since trails the newest by LAG_SECONDS', () => {
  const saved: ContainerPosition[] = [];
  const p = new ContainerPositions({ since: 0, skip: 0, lastSec: 0, lastNanos: 0 }, (pos) => saved.push(pos));
  const a = p.message(100, 1);
  const b = p.message(100, 2);
  const c = p.message(101, 0);
  const d = p.message(103, 0);
  const seqB = p.register([b]);
  const seqAC = p.register([a, c]); // an event of two messages (partials or multiline) around b
  const seqD = p.register([d]);
  p.ack(seqB);
  assert.deepEqual(saved, [], 'a is not acknowledged yet');
  p.ack(seqAC);
  assert.deepEqual(saved.at(-1), { since: 101 - LAG_SECONDS, skip: 3, lastSec: 101, lastNanos: 0 });
  p.ack(seqD);
  // since moves to 103 - 2 = 101: messages stamped 100 no longer count
  assert.deepEqual(saved.at(-1), { since: 101, skip: 2, lastSec: 103, lastNanos: 0 });
  assert.equal(p.pending, 0);
});

test('positions: a resumed stream skips exactly the acknowledged messages — unless a message is newer than the newest acknowledged (rotation took some)', () => {
  const saved: ContainerPosition[] = [];
  const p = new ContainerPositions({ since: 101, skip: 2, lastSec: 103, lastNanos: 0 }, (pos) => saved.push(pos));
  assert.equal(p.message(101, 0), -1);
  assert.deepEqual(saved, [], 'nothing saved while skipping');
  assert.equal(p.message(103, 0), -1);
  assert.deepEqual(saved, [{ since: 101, skip: 2, lastSec: 103, lastNanos: 0 }], 'skipped all: the same position');
  const e = p.message(104, 0);
  assert.ok(e >= 0);
  p.ack(p.register([e]));
  assert.deepEqual(saved.at(-1), { since: 102, skip: 2, lastSec: 104, lastNanos: 0 });

  const q = new ContainerPositions({ since: 101, skip: 5, lastSec: 103, lastNanos: 0 }, () => undefined);
  assert.equal(q.message(103, 0), -1);
  assert.ok(q.message(103, 1) >= 0, 'newer than the newest acknowledged: shipped, not skipped');
});

test('selection: name/image/label selectors, exclude wins, dockhand.logs=false opts out', () => {
  const c = (name: string, image: string, labels: Record<string, string> = {}): ContainerRecord => ({ name, image, labels }) as ContainerRecord;
  const s = new ContainerSelection(['web-*', 'image:nginx:*', 'label:team=pay*'], ['label:noisy']);
  assert.equal(s.skipReason(c('web-1', 'x')), null);
  assert.equal(s.skipReason(c('db', 'nginx:1.27')), null);
  assert.equal(s.skipReason(c('db', 'x', { team: 'payments' })), null);
  assert.equal(s.skipReason(c('db', 'x')), 'not in container_logs.include');
  assert.equal(s.skipReason(c('web-2', 'x', { noisy: '' })), 'in container_logs.exclude');
  assert.equal(s.skipReason(c('web-3', 'x', { 'dockhand.logs': 'false' })), 'label dockhand.logs=false');
});

const dir = mkdtempSync(join(tmpdir(), 'dockhand-clogs-config-'));
after(() => rmSync(dir, { recursive: true, force: true }));

test('container_logs keys: defaults, and a bad selector or pattern names its key', () => {
  const good = join(dir, 'good.yaml');
  writeFileSync(good, '');
  const { config } = loadConfig({ file: good, env: {} });
  assert.equal(config.container_logs.enabled, true);
  assert.deepEqual(config.container_logs.include, ['*']);
  assert.equal(config.container_logs.max_line_bytes, 1024 * 1024);
  const bad = join(dir, 'bad.yaml');
  writeFileSync(bad, 'container_logs:\n  include: ["colour:red"]\n  exclude: ["label:"]\n  multiline:\n    pattern: "(a+)+$"\n');
  try {
    loadConfig({ file: bad, env: {} });
    assert.fail('expected a ConfigError');
  } catch (err) {
    assert.ok(err instanceof ConfigError);
    const paths = err.problems.map((p) => p.path);
    assert.deepEqual(paths.sort(), ['container_logs.exclude[0]', 'container_logs.include[0]', 'container_logs.multiline.pattern']);
  }
});
