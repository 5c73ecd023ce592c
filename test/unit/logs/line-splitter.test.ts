import assert from 'node:assert/strict';
import { test } from 'node:test';
import { LineSplitter } from '../../../src/logs/line-splitter.ts';
import type { LineHandler } from '../../../src/logs/line-splitter.ts';
import { seededRandom } from '../../helpers/seeded-random.ts';

/** The splitter hands on `buf[from, to)`; these tests look at the line as a view. */
function view(handler: (line: Buffer, start: number, end: number, truncated: boolean) => void): LineHandler {
  return (buf, from, to, start, end, truncated) => handler(buf.subarray(from, to), start, end, truncated);
}

interface Line {
  text: string;
  start: number;
  end: number;
  truncated: boolean;
}

/** The obvious, slow definition the splitter must agree with. */
function reference(input: Buffer, max: number, base = 0): { lines: Line[]; resume: number } {
  const lines: Line[] = [];
  let start = 0;
  for (;;) {
    const nl = input.indexOf(10, start);
    if (nl === -1) break;
    let stop = nl;
    if (stop > start && input[stop - 1] === 13) stop--;
    const truncated = stop - start > max;
    lines.push({ text: input.subarray(start, truncated ? start + max : stop).toString('latin1'), start: base + start, end: base + nl + 1, truncated });
    start = nl + 1;
  }
  return { lines, resume: base + start };
}

function run(splitter: LineSplitter, chunks: Buffer[], base = 0): Line[] {
  const out: Line[] = [];
  let offset = base;
  for (const chunk of chunks) {
    splitter.push(chunk, offset, view((line, start, end, truncated) => {
      out.push({ text: line.toString('latin1'), start, end, truncated });
    }));
    offset += chunk.length;
    assert.ok(splitter.pendingBytes <= splitter.maxLineBytes, 'held bytes never exceed maxLineBytes');
  }
  return out;
}

const SAMPLE = Buffer.from('first line\r\nsecond\n\n\r\nlonger line number four is here\nx\r\n\rcr-lead\nmid\rcr\n0123456789ABCDEFGHIJ\n0123456789\r\n01234567890\r\n01234567890\r\r\npartial tail', 'latin1');

test('splits on \\n, strips one trailing \\r, keeps empty lines and offsets exact', () => {
  const s = new LineSplitter({ maxLineBytes: 1024 });
  const lines = run(s, [Buffer.from('a\nbb\r\n\n\r\nc\rd\n\r\r\ntail')]);
  assert.deepEqual(lines, [
    { text: 'a', start: 0, end: 2, truncated: false },
    { text: 'bb', start: 2, end: 6, truncated: false },
    { text: '', start: 6, end: 7, truncated: false },
    { text: '', start: 7, end: 9, truncated: false },
    { text: 'c\rd', start: 9, end: 13, truncated: false },
    { text: '\r', start: 13, end: 16, truncated: false },
  ]);
  assert.equal(s.resumeOffset, 16, 'the partial "tail" is not delivered; a reader restarts at its first byte');
  assert.equal(s.pendingBytes, 4);
  assert.equal(s.nextChunkOffset, 20);
});

test('every split position of one input gives the same lines as splitting it whole', () => {
  for (const max of [10, 11, 12, 1024]) {
    const expected = reference(SAMPLE, max);
    for (let cut = 0; cut <= SAMPLE.length; cut++) {
      const s = new LineSplitter({ maxLineBytes: max });
      const got = run(s, [SAMPLE.subarray(0, cut), SAMPLE.subarray(cut)]);
      assert.deepEqual(got, expected.lines, `max ${max}, cut at ${cut}`);
      assert.equal(s.resumeOffset, expected.resume, `resumeOffset, max ${max}, cut at ${cut}`);
    }
  }
});

test('every pair of split positions (three chunks) agrees too', () => {
  const input = SAMPLE.subarray(0, 90);
  const expected = reference(input, 11);
  for (let a = 0; a <= input.length; a++) {
    for (let b = a; b <= input.length; b++) {
      const s = new LineSplitter({ maxLineBytes: 11 });
      const got = run(s, [input.subarray(0, a), input.subarray(a, b), input.subarray(b)]);
      assert.deepEqual(got, expected.lines, `cuts at ${a}, ${b}`);
      assert.equal(s.resumeOffset, expected.resume);
    }
  }
});

test('one byte at a time, from a non-zero start offset', () => {
  const s = new LineSplitter({ maxLineBytes: 12, startOffset: 5000 });
  const chunks = [...SAMPLE].map((b) => Buffer.from([b]));
  assert.deepEqual(run(s, chunks, 5000), reference(SAMPLE, 12, 5000).lines);
  assert.equal(s.resumeOffset, reference(SAMPLE, 12, 5000).resume);
});

test('random inputs and random chunkings agree with the reference', () => {
  const rand = seededRandom(7);
  const alphabet = [10, 13, 13, 32, 97, 98, 0, 255];
  for (let round = 0; round < 300; round++) {
    const input = Buffer.from(Array.from({ length: rand(200) }, () => alphabet[rand(alphabet.length)] as number));
    const max = 1 + rand(20);
    const chunks: Buffer[] = [];
    for (let i = 0; i < input.length; ) {
      const n = Math.min(input.length - i, rand(30));
      chunks.push(input.subarray(i, i + n));
      i += n;
    }
    const s = new LineSplitter({ maxLineBytes: max });
    const expected = reference(input, max);
    assert.deepEqual(run(s, chunks), expected.lines, `round ${round}`);
    assert.equal(s.resumeOffset, expected.resume, `round ${round}`);
  }
});

test('a line of exactly maxLineBytes followed by CRLF is not truncated, split anywhere', () => {
  const input = Buffer.from('12345\r\n123456\r\n1234\r\r\n', 'latin1');
  for (let cut = 0; cut <= input.length; cut++) {
    const s = new LineSplitter({ maxLineBytes: 5 });
    assert.deepEqual(
      run(s, [input.subarray(0, cut), input.subarray(cut)]),
      [
        { text: '12345', start: 0, end: 7, truncated: false },
        { text: '12345', start: 7, end: 15, truncated: true },
        { text: '1234\r', start: 15, end: 22, truncated: false },
      ],
      `cut at ${cut}`,
    );
    assert.equal(s.truncatedLines, 1);
    assert.equal(s.skippedBytes, 1);
  }
});

test('a 10 MB line with a small max: delivered once, truncated, without holding it', () => {
  const max = 64 * 1024;
  const s = new LineSplitter({ maxLineBytes: max });
  const lines: Line[] = [];
  const onLine = view((line, start, end, truncated) => {
    lines.push({ text: line.subarray(0, 4).toString('latin1') + `…${line.length}`, start, end, truncated });
  });
  const chunk = Buffer.alloc(1024 * 1024, 0x41);
  s.push(Buffer.from('head\n'), 0, onLine);
  let offset = 5;
  let maxHeld = 0;
  for (let i = 0; i < 10; i++) {
    s.push(chunk, offset, onLine);
    offset += chunk.length;
    maxHeld = Math.max(maxHeld, s.pendingBytes);
    assert.equal(s.resumeOffset, 5, 'nothing of the long line is acknowledged before its newline');
  }
  assert.equal(s.pendingLineBytes, 10 * 1024 * 1024);
  s.push(Buffer.from('\r\nnext\n'), offset, onLine);
  assert.ok(maxHeld <= max, `held ${maxHeld} bytes`);
  assert.deepEqual(lines, [
    { text: 'head…4', start: 0, end: 5, truncated: false },
    { text: 'AAAA…65536', start: 5, end: offset + 2, truncated: true },
    { text: 'next…4', start: offset + 2, end: offset + 7, truncated: false },
  ]);
  assert.equal(s.skippedBytes, 10 * 1024 * 1024 - max);
  assert.equal(s.pendingBytes, 0);
  assert.equal(s.resumeOffset, offset + 7);
});

test('a long line inside one chunk is delivered as a view, truncated, and counted', () => {
  const s = new LineSplitter({ maxLineBytes: 4 });
  const chunk = Buffer.from('abcdefgh\nij\n');
  const seen: Buffer[] = [];
  s.push(chunk, 0, view((line) => seen.push(line)));
  assert.equal(seen[0]?.buffer, chunk.buffer, 'no copy for lines inside the chunk');
  assert.deepEqual(seen.map((b) => b.toString()), ['abcd', 'ij']);
  assert.equal(s.truncatedLines, 1);
  assert.equal(s.skippedBytes, 4);
});

test('partial last lines wait; the rest completes them with the right offsets', () => {
  const s = new LineSplitter({ maxLineBytes: 100 });
  const got: Line[] = [];
  const onLine = view((line, start, end, truncated) => void got.push({ text: line.toString(), start, end, truncated }));
  s.push(Buffer.from('abc'), 0, onLine);
  s.push(Buffer.from('def'), 3, onLine);
  assert.deepEqual(got, []);
  assert.equal(s.resumeOffset, 0);
  assert.equal(s.pendingBytes, 6);
  s.push(Buffer.alloc(0), 6, onLine);
  assert.equal(s.nextChunkOffset, 6, 'an empty chunk changes nothing');
  s.push(Buffer.from('\nghi'), 6, onLine);
  assert.deepEqual(got, [{ text: 'abcdef', start: 0, end: 7, truncated: false }]);
  assert.equal(s.resumeOffset, 7);
  assert.equal(s.pendingBytes, 3);
});

test('chunks must continue a held partial line; reset() restarts anywhere and forgets it', () => {
  const s = new LineSplitter({ maxLineBytes: 100 });
  const got: string[] = [];
  s.push(Buffer.from('abc\npartial'), 0, view((l) => void got.push(l.toString())));
  assert.throws(() => s.push(Buffer.from('x\n'), 5, () => {}), /does not continue the partial line held since 4 \(expected 11\)/);
  assert.equal(s.pendingBytes, 7, 'the refused chunk changed nothing');
  s.reset(0);
  assert.equal(s.pendingBytes, 0);
  assert.equal(s.resumeOffset, 0);
  s.push(Buffer.from('new\n'), 0, view((l) => void got.push(l.toString())));
  assert.deepEqual(got, ['abc', 'new']);
  assert.throws(() => s.reset(-1), RangeError);
  assert.throws(() => new LineSplitter({ maxLineBytes: 0 }), RangeError);
});

test('with nothing held, a chunk may start anywhere (a file resumed at a saved offset)', () => {
  const s = new LineSplitter({ maxLineBytes: 100 });
  const got: Line[] = [];
  const onLine = view((line, start, end, truncated) => void got.push({ text: line.toString(), start, end, truncated }));
  s.push(Buffer.from('resumed\n'), 4096, onLine);
  assert.deepEqual(got, [{ text: 'resumed', start: 4096, end: 4104, truncated: false }]);
  assert.equal(s.resumeOffset, 4104);
  s.push(Buffer.from('x\n'), 9000, onLine);
  assert.deepEqual(got[1], { text: 'x', start: 9000, end: 9002, truncated: false });
  assert.throws(() => s.push(Buffer.from('x\n'), -1, onLine), RangeError);
});

test('the partial-line buffer is released after a large line', () => {
  const s = new LineSplitter({ maxLineBytes: 1024 * 1024 });
  s.push(Buffer.alloc(500 * 1024, 0x61), 0, () => {});
  assert.equal(s.pendingBytes, 500 * 1024);
  let delivered: Buffer | undefined;
  s.push(Buffer.from('\nnext'), 500 * 1024, view((line) => {
    delivered = line;
    assert.equal(line.length, 500 * 1024);
  }));
  assert.ok(delivered);
  const before = delivered.buffer;
  s.push(Buffer.from('more\n'), 500 * 1024 + 5, view((line) => {
    assert.equal(line.toString(), 'nextmore');
    assert.notEqual(line.buffer, before, 'a fresh small buffer, not the 500 KiB one');
  }));
});
