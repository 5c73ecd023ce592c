import assert from 'node:assert/strict';
import { test } from 'node:test';
import { DockerTimeParser } from '../../../src/logs/containers/docker-time.ts';
import { JsonLogParser, entryTime } from '../../../src/logs/containers/json-log-parser.ts';

interface Msg { stream: number; text: string; partial: boolean; sec: number; nanos: number }

const SEC = Date.parse('2026-12-02T05:36:19Z') / 1000;

/** An entry as dockerd writes it: Go's encoder escapes <, > and & as \u00XX; `log` is taken as JSON text as it is. */
function entry(logJson: string, stream = 'stdout', time = '2026-12-02T05:36:19.291387319Z', attrs = ''): string {
  return `{"log":"${logJson}","stream":"${stream}",${attrs}"time":"${time}"}\n`;
}

function parseAll(text: string | Buffer, options: { tty?: boolean; since?: number; chunk?: number } = {}): { out: Msg[]; parser: JsonLogParser } {
  const out: Msg[] = [];
  const parser = new JsonLogParser(options.tty ?? false, options.since ?? 0, (stream, buf, from, to, partial, ts) => out.push({ stream, text: buf.toString('utf8', from, to), partial, sec: ts.sec, nanos: ts.nanos }));
  const bytes = typeof text === 'string' ? Buffer.from(text) : text;
  // Fed as a reader does: whatever arrived, the unparsed rest carried to the front of the next read.
  const step = options.chunk ?? bytes.length;
  let carry = Buffer.alloc(0);
  for (let p = 0; p < bytes.length; p += step) {
    const buf = Buffer.concat([carry, bytes.subarray(p, p + step)]);
    const used = parser.parse(buf, 0, buf.length);
    carry = Buffer.from(buf.subarray(used));
  }
  assert.equal(carry.length, 0, 'every whole line parsed');
  return { out, parser };
}

test('json-file entries: content without its newline, stream, nanosecond time; a missing \\n is a partial message; any read size', () => {
  const text = entry('hello\\n') + entry('oops\\n', 'stderr', '2026-12-02T05:36:19.5Z') + entry('a piece', 'stdout', '2026-12-02T05:36:20Z') + entry('\\n', 'stdout', '2026-12-02T05:36:20.000000001Z');
  const expected: Msg[] = [
    { stream: 1, text: 'hello', partial: false, sec: SEC, nanos: 291387319 },
    { stream: 2, text: 'oops', partial: false, sec: SEC, nanos: 500000000 },
    { stream: 1, text: 'a piece', partial: true, sec: SEC + 1, nanos: 0 },
    { stream: 1, text: '', partial: false, sec: SEC + 1, nanos: 1 },
  ];
  for (const chunk of [1, 7, 64, 10_000]) assert.deepEqual(parseAll(text, { chunk }).out, expected, `read size ${chunk}`);
});

test('escapes are decoded: \\u003c and the like, quotes, backslashes, control bytes, a surrogate pair; a lone surrogate becomes U+FFFD', () => {
  const { out } = parseAll(entry('hi \\u003ca\\u003e \\u0026 \\"q\\" \\\\ é\\t\\u0001 \\ud83d\\ude00 \\ud800!\\n'));
  assert.deepEqual(out.map((m) => [m.text, m.partial]), [['hi <a> & "q" \\ é\t\u0001 😀 \ufffd!', false]]);
  // An escaped backslash then "n" is not a newline: the message is partial and keeps both.
  assert.deepEqual(parseAll(entry('ends with \\\\n')).out.map((m) => [m.text, m.partial]), [['ends with \\n', true]]);
  // An escaped backslash before the newline escape.
  assert.deepEqual(parseAll(entry('slash\\\\\\n')).out.map((m) => [m.text, m.partial]), [['slash\\', false]]);
});

test('a TTY\'s \\r before the newline is dropped (only with a TTY); attrs between stream and time are read too', () => {
  assert.deepEqual(parseAll(entry('tty\\r\\n'), { tty: true }).out.map((m) => m.text), ['tty']);
  assert.deepEqual(parseAll(entry('tty\\r\\n')).out.map((m) => m.text), ['tty\r']);
  const withAttrs = entry('x\\n', 'stderr', '2026-12-02T05:36:19.1Z', '"attrs":{"a":"b\\",\\"time\\":\\"1"},');
  assert.deepEqual(parseAll(withAttrs).out, [{ stream: 2, text: 'x', partial: false, sec: SEC, nanos: 100000000 }]);
});

test('entries stamped before `since` are passed over and counted; lines that are not entries are skipped and counted', () => {
  const text = entry('old\\n', 'stdout', '2026-12-02T05:36:18.9Z') + entry('new\\n') + 'garbage\n' + '{"log":"no time"}\n' + entry('last\\n');
  const { out, parser } = parseAll(text, { since: SEC });
  assert.deepEqual(out.map((m) => m.text), ['new', 'last']);
  assert.equal(parser.skipped, 1);
  assert.equal(parser.badLines, 2);
});

test('content that looks like the members that follow it is still content (inside the string every quote is escaped)', () => {
  const tricky = 'a\\",\\"stream\\":\\"stderr\\",\\"time\\":\\"2020-01-01T00:00:00Z\\"}\\n';
  const { out } = parseAll(entry(tricky));
  assert.deepEqual(out.map((m) => [m.stream, m.text, m.sec]), [[1, 'a","stream":"stderr","time":"2020-01-01T00:00:00Z"}', SEC]]);
});

test('entryTime reads the time of an entry (for seeking), null for a line that is not one', () => {
  const buf = Buffer.from(entry('x\\n') + 'nope\n');
  const first = buf.indexOf(0x0a);
  assert.equal(entryTime(buf, 0, first, new DockerTimeParser()), SEC);
  assert.equal(entryTime(buf, first + 1, buf.length - 1, new DockerTimeParser()), null);
});
