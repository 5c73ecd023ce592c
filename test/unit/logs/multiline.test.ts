import assert from 'node:assert/strict';
import { test } from 'node:test';
import { MultilineJoiner } from '../../../src/logs/multiline.ts';
import type { MultilineOptions } from '../../../src/logs/multiline.ts';
import { seededRandom } from '../../helpers/seeded-random.ts';

const JAVA = '^(\\s+at |\\s+\\.\\.\\. \\d+ more|Caused by:)';
const DEFAULTS: MultilineOptions = { pattern: JAVA, negate: false, match: 'after', maxLines: 500, maxBytes: 1024 * 1024, timeoutMs: 5000 };

interface Out {
  message: string;
  start: number;
  end: number;
  lines: number;
  flags: string[];
}

/** Feeds lines laid out back to back in a file (each followed by `\n`), then optionally flushes. */
class Harness {
  readonly joiner: MultilineJoiner;
  readonly out: Out[] = [];
  offset = 0;
  readonly emit = (e: { message: Buffer; start: number; end: number; lines: number; flags: readonly string[] }): void => {
    this.out.push({ message: e.message.toString('utf8'), start: e.start, end: e.end, lines: e.lines, flags: [...e.flags] });
  };

  constructor(options: Partial<MultilineOptions> = {}) {
    this.joiner = new MultilineJoiner({ ...DEFAULTS, ...options });
  }

  push(lines: (string | Buffer)[], nowMs = 0, truncated = false): this {
    for (const line of lines) {
      const text = typeof line === 'string' ? Buffer.from(line) : line;
      const start = this.offset;
      this.offset += text.length + 1;
      this.joiner.push({ text, start, end: this.offset, truncated }, nowMs, this.emit);
    }
    return this;
  }

  messages(): string[] {
    return this.out.map((o) => o.message);
  }
}

const TRACE = [
  '2024-05-01 10:00:00.123 ERROR [http-nio-8080-exec-1] c.e.OrderService - order 42 failed',
  'java.lang.IllegalStateException: payment declined',
  '\tat com.example.OrderService.pay(OrderService.java:120)',
  '\tat com.example.OrderController.post(OrderController.java:55)',
  'Caused by: java.io.IOException: connection reset',
  '\tat java.base/sun.nio.ch.SocketDispatcher.read0(Native Method)',
  '\t... 12 more',
  '2024-05-01 10:00:01.000 INFO  [main] c.e.App - still alive',
];

test('Java stack traces (with Caused by: and ... 12 more) join the line before them', () => {
  const h = new Harness().push(TRACE, 1000);
  assert.deepEqual(h.messages(), [TRACE[0], TRACE.slice(1, 7).join('\n')], 'the last line waits for the next one');
  assert.deepEqual(h.out[1]?.flags, ['multiline']);
  assert.equal(h.out[1]?.lines, 6);
  assert.deepEqual(h.out[0]?.flags, []);
  const firstEnd = TRACE[0]!.length + 1;
  assert.equal(h.out[1]?.start, firstEnd);
  assert.equal(h.out[1]?.end, TRACE.slice(0, 7).reduce((n, l) => n + Buffer.byteLength(l) + 1, 0));
  assert.equal(h.joiner.safeOffset, h.out[1]?.end, 'the acknowledgeable offset stops at the pending last line');
  assert.equal(h.joiner.flush(h.emit), true);
  assert.equal(h.out[2]?.message, TRACE[7]);
  assert.equal(h.joiner.safeOffset, h.offset);
  assert.equal(h.joiner.flush(h.emit), false, 'nothing left');
});

test('the first-byte pre-check spares the RegExp on ordinary lines, without changing results', () => {
  const h = new Harness().push(TRACE).push(['[x] 1', '{"a":1}', 'Caused', 'C', '', '   at x', ' \u00a0at y']);
  // Runs: the 5 lines of TRACE starting with a tab or "C", 'Caused', 'C', and the two
  // whitespace-led lines; not the timestamped, `java.lang…`, `[x]` or `{` lines.
  assert.equal(h.joiner.regexRuns, 9);
  h.joiner.flush(h.emit);
  assert.deepEqual(h.messages().slice(-5), ['[x] 1', '{"a":1}', 'Caused', 'C', '\n   at x\n \u00a0at y']);
});

test("Filebeat's negate/match table (pattern ^b on a b b a b a a)", () => {
  const lines = ['a', 'b', 'b', 'a', 'b', 'a', 'a'];
  const run = (negate: boolean, match: 'after' | 'before'): string[] => {
    const h = new Harness({ pattern: '^b', negate, match }).push(lines);
    h.joiner.flush(h.emit);
    return h.messages().map((m) => m.replaceAll('\n', ' '));
  };
  // false/after: matching lines are appended to the previous line that does not match.
  assert.deepEqual(run(false, 'after'), ['a b b', 'a b', 'a', 'a']);
  // false/before: matching lines are prepended to the next line that does not match.
  assert.deepEqual(run(false, 'before'), ['a', 'b b a', 'b a', 'a']);
  // true/after: non-matching lines are appended to the previous line that matches.
  assert.deepEqual(run(true, 'after'), ['a', 'b', 'b a', 'b a a']);
  // true/before: non-matching lines are prepended to the next line that matches.
  assert.deepEqual(run(true, 'before'), ['a b', 'b', 'a b', 'a a']);
});

test("Filebeat's documented examples", () => {
  // Timestamped events: every line not starting with a [date] continues the previous one.
  const es = new Harness({ pattern: '^\\[[0-9]{4}-[0-9]{2}-[0-9]{2}', negate: true, match: 'after' }).push([
    '[2015-08-24 11:49:14,389][INFO ][env                      ] [Letha] using [1] data paths, mounts [[/',
    '(/dev/disk1)]], net usable_space [34.5gb], net total_space [118.9gb], types [hfs]',
    '[2015-08-24 11:49:15,000][INFO ][node                     ] [Letha] started',
  ]);
  assert.equal(es.out.length, 1);
  assert.match(es.out[0]!.message, /mounts \[\[\/\n\(\/dev\/disk1\)/);
  // Line continuations: a line ending in a backslash continues with the next one (match before).
  const c = new Harness({ pattern: '\\\\$', negate: false, match: 'before' }).push(['printf ("%10.10ld  \\t %10.10ld \\t %s\\', '  %f", w, x, y, z );', 'next();']);
  assert.deepEqual(c.messages(), ['printf ("%10.10ld  \\t %10.10ld \\t %s\\\n  %f", w, x, y, z );', 'next();'], '`before` emits as soon as an event is complete');
  assert.equal(c.joiner.pendingSince, undefined);
  // Java, with the pattern from Filebeat's docs.
  const j = new Harness({ pattern: '^\\s+(at|\\.{3})\\s+\\b|^Caused by:' }).push([
    'Exception in thread "main" java.lang.IllegalStateException: A book has a null property',
    '       at com.example.myproject.Author.getBookIds(Author.java:38)',
    '       at com.example.myproject.Bootstrap.main(Bootstrap.java:14)',
    'Caused by: java.lang.NullPointerException',
    '       at com.example.myproject.Book.getId(Book.java:22)',
    '       ... 1 more',
    'next',
  ]);
  assert.equal(j.out.length, 1);
  assert.equal(j.out[0]!.lines, 6);
});

test('a file starting mid-trace: the first line starts an event whatever it is', () => {
  const h = new Harness().push(['\tat a.B.c(B.java:1)', '\tat a.B.d(B.java:2)', 'x']);
  assert.deepEqual(h.messages(), ['\tat a.B.c(B.java:1)\n\tat a.B.d(B.java:2)']);
});

test('max_lines: the rest is dropped and flagged, offsets still advance, matching goes on', () => {
  const h = new Harness({ maxLines: 3 }).push(['head', '  at 1', '  at 2', '  at 3', '  at 4', 'next']);
  assert.equal(h.out.length, 1);
  assert.deepEqual(h.out[0], { message: 'head\n  at 1\n  at 2', start: 0, end: 5 + 7 * 4, lines: 3, flags: ['multiline', 'truncated'] });
  assert.equal(h.joiner.linesDropped, 2);
  assert.equal(h.joiner.bytesDropped, 12);
  assert.equal(h.joiner.safeOffset, 33);
  const one = new Harness({ maxLines: 1 }).push(['head', '  at 1', 'next']);
  assert.deepEqual(one.out[0], { message: 'head', start: 0, end: 12, lines: 1, flags: ['truncated'] }, 'one line kept: not multiline');
});

test('max_bytes cuts the joined message (separators count) and flags it', () => {
  const h = new Harness({ maxBytes: 14 }).push(['head', '  at 1', '  at 2', '  at 3', 'next']);
  assert.deepEqual(h.out[0], { message: 'head\n  at 1\n  ', start: 0, end: 26, lines: 3, flags: ['multiline', 'truncated'] });
  assert.equal(h.joiner.linesDropped, 1);
  assert.equal(h.joiner.bytesDropped, 4 + 6);
  const full = new Harness({ maxBytes: 11 }).push(['head', '  at 1', '  at 2', 'next']);
  assert.deepEqual(full.out[0], { message: 'head\n  at 1', start: 0, end: 19, lines: 2, flags: ['multiline', 'truncated'] }, 'no room left after the separator: the line is dropped');
  const single = new Harness({ maxBytes: 3 }).push(['abcdef', 'x']);
  assert.deepEqual(single.out[0], { message: 'abc', start: 0, end: 7, lines: 1, flags: ['truncated'] });
  const off = new Harness({ pattern: null, maxBytes: 3 }).push(['abcdef']);
  assert.deepEqual(off.out[0], { message: 'abc', start: 0, end: 7, lines: 1, flags: ['truncated'] });
});

test('lines truncated by the splitter carry the flag into their event', () => {
  const h = new Harness().push(['head']).push(['  at 1'], 0, true).push(['next']);
  assert.deepEqual(h.out[0]?.flags, ['multiline', 'truncated']);
  const off = new Harness({ pattern: null }).push(['x'], 0, true);
  assert.deepEqual(off.out[0]?.flags, ['truncated']);
});

test('empty lines are lines: kept inside events, separated by \\n', () => {
  const h = new Harness({ pattern: '^\\[', negate: true }).push(['[1] a', '', 'b', '', '[2] c']);
  assert.deepEqual(h.messages(), ['[1] a\n\nb\n']);
  const first = new Harness().push(['', '  at x', 'y']);
  assert.deepEqual(first.messages(), ['\n  at x'], 'an empty first line keeps its separator (Filebeat drops it)');
});

test('timeout: a pending event is emitted once no line arrived for timeoutMs', () => {
  const h = new Harness({ timeoutMs: 5000 }).push(['head', '  at 1'], 10_000);
  assert.equal(h.joiner.pendingSince, 10_000);
  assert.equal(h.joiner.dueAt, 15_000);
  assert.equal(h.joiner.flushIfDue(14_999, h.emit), false);
  h.push(['  at 2'], 14_000);
  assert.equal(h.joiner.pendingSince, 10_000, 'the event started at its first line');
  assert.equal(h.joiner.dueAt, 19_000, 'the timer restarts with each line (Filebeat: time since the last line read)');
  assert.equal(h.joiner.flushIfDue(18_999, h.emit), false);
  assert.equal(h.out.length, 0);
  assert.equal(h.joiner.flushIfDue(19_000, h.emit), true);
  assert.deepEqual(h.messages(), ['head\n  at 1\n  at 2']);
  assert.equal(h.joiner.pendingSince, undefined);
  assert.equal(h.joiner.dueAt, undefined);
  assert.equal(h.joiner.flushIfDue(99_999, h.emit), false);
  h.push(['  at 3'], 20_000);
  h.joiner.flushIfDue(25_000, h.emit);
  assert.deepEqual(h.messages().at(-1), '  at 3', 'a continuation after a timeout flush starts a new event');
  const never = new Harness({ timeoutMs: 0 }).push(['x'], 0);
  assert.equal(never.joiner.dueAt, undefined);
  assert.equal(never.joiner.flushIfDue(1e12, never.emit), false);
});

test('safeOffset never passes a pending line', () => {
  const lines = ['a', '  at 1', 'b', '  at 2', '  at 3', 'c', 'd'];
  for (const options of [{}, { match: 'before' as const, pattern: '^ ' }, { negate: true, pattern: '^[a-z]' }, { pattern: null }]) {
    const h = new Harness(options);
    const safeOffset = (): number | undefined => h.joiner.safeOffset;
    assert.equal(safeOffset(), undefined, 'nothing pushed yet');
    const starts: number[] = [];
    let offset = 0;
    for (const line of lines) {
      starts.push(offset);
      offset += line.length + 1;
      h.push([line]);
      const safe = safeOffset();
      assert.ok(safe !== undefined && safe <= offset, 'never beyond what was pushed');
      assert.ok(starts.includes(safe) || safe === offset, 'a line boundary');
      // Every line before the safe offset is inside an emitted event: acknowledging up to it
      // cannot skip a line still waiting in the joiner.
      for (const start of starts.filter((s) => s < safe)) {
        assert.ok(
          h.out.some((e) => e.start <= start && start < e.end),
          `${JSON.stringify(options)}: line at ${start} is below safeOffset ${safe} but was not emitted`,
        );
      }
      if (h.joiner.pendingSince !== undefined) assert.ok(!h.out.some((e) => e.end > safe), 'no emitted event ends past a pending line');
    }
    h.joiner.flush(h.emit);
    assert.equal(safeOffset(), offset);
  }
});

test('reset drops the pending event (file truncated)', () => {
  const h = new Harness().push(['a', '  at 1']);
  h.joiner.reset();
  assert.equal(h.joiner.safeOffset, undefined);
  assert.equal(h.joiner.pendingBytes, 0);
  h.offset = 0;
  h.push(['z', 'y']);
  assert.deepEqual(h.messages(), ['z']);
});

test('pattern null: lines pass straight through as views, nothing pending', () => {
  const j = new MultilineJoiner({ ...DEFAULTS, pattern: null });
  const text = Buffer.from('  at not joined');
  let seen: Buffer | undefined;
  j.pushLine(text, 0, text.length, 100, 116, false, 0, (e) => {
    seen = e.message;
    assert.equal(e.start, 100);
    assert.equal(e.end, 116);
  });
  assert.equal(seen?.buffer, text.buffer);
  assert.equal(j.safeOffset, 116);
  assert.equal(j.pendingSince, undefined);
});

test('a custom pattern behaves exactly as the RegExp says, on decoded text', () => {
  const h = new Harness({ pattern: '^\u00e9|^\\ufffd' }).push([
    'start',
    Buffer.from('\u00e9t\u00e9'),
    Buffer.from([0xff, 0x41]), // decodes to U+FFFD A: matches ^\ufffd
    Buffer.from([0xc3]), // a truncated é: U+FFFD
    'end',
  ]);
  assert.equal(h.out.length, 1);
  assert.equal(h.out[0]?.lines, 4);
});

test('invalid options are refused', () => {
  assert.throws(() => new MultilineJoiner({ ...DEFAULTS, maxLines: 0 }), RangeError);
  assert.throws(() => new MultilineJoiner({ ...DEFAULTS, maxBytes: 0 }), RangeError);
  assert.throws(() => new MultilineJoiner({ ...DEFAULTS, timeoutMs: -1 }), RangeError);
  assert.throws(() => new MultilineJoiner({ ...DEFAULTS, pattern: '(' }), SyntaxError);
});

/** Filebeat's pattern reader, transcribed literally (pred(last, current); emit on the next line). */
function filebeat(lines: string[], o: MultilineOptions): { message: string; lines: number; flags: string[] }[] {
  const re = new RegExp(o.pattern as string);
  const out: { message: string; lines: number; flags: string[] }[] = [];
  let cur: { parts: string[]; bytes: number; truncated: boolean; last: string } | null = null;
  const add = (line: string): void => {
    const c = cur!;
    const sep = c.parts.length > 0 ? 1 : 0;
    const space = o.maxBytes - c.bytes - sep;
    if (c.parts.length < o.maxLines && space > 0) {
      const kept = Buffer.from(line).subarray(0, space).toString('latin1');
      if (kept.length < line.length) c.truncated = true;
      c.parts.push(kept);
      c.bytes += sep + kept.length;
    } else c.truncated = true;
    c.last = line;
  };
  const finalize = (): void => {
    const c = cur!;
    const flags = [...(c.parts.length > 1 ? ['multiline'] : []), ...(c.truncated ? ['truncated'] : [])];
    out.push({ message: c.parts.join('\n'), lines: c.parts.length, flags });
    cur = null;
  };
  for (const line of lines) {
    if (cur !== null) {
      const tested = o.match === 'after' ? line : (cur as { last: string }).last;
      if (re.test(tested) === o.negate) finalize();
    }
    cur ??= { parts: [], bytes: 0, truncated: false, last: '' };
    add(line);
  }
  if (cur !== null) finalize();
  return out;
}

test('random streams: the same events as a literal transcription of Filebeat', () => {
  const pool = ['x', '  at a', 'Caused by: y', '\t... 3 more', '', 'C', ' ', '[t] z', 'b', 'bb', 'ab'];
  const rand = seededRandom(3);
  for (let round = 0; round < 400; round++) {
    const options: MultilineOptions = {
      pattern: [JAVA, '^b', '^\\[', 'b$', '^$'][rand(5)] as string,
      negate: rand(2) === 1,
      match: rand(2) === 1 ? 'after' : 'before',
      maxLines: 1 + rand(5),
      maxBytes: 1 + rand(40),
      timeoutMs: 5000,
    };
    const lines = Array.from({ length: rand(25) }, () => pool[rand(pool.length)] as string);
    const h = new Harness(options).push(lines);
    h.joiner.flush(h.emit);
    const got = h.out.map((e) => ({ message: e.message, lines: e.lines, flags: e.flags }));
    assert.deepEqual(got, filebeat(lines, options), `round ${round}: ${JSON.stringify(options)} ${JSON.stringify(lines)}`);
    // Offsets tile the input: each event starts where the previous ended.
    let at = 0;
    for (const e of h.out) {
      assert.equal(e.start, at);
      at = e.end;
    }
    assert.equal(at, h.offset);
  }
});
