import assert from 'node:assert/strict';
import { test } from 'node:test';
import { firstByteFilter } from '../../../src/logs/first-byte-filter.ts';
import { seededRandom } from '../../helpers/seeded-random.ts';

const JAVA = '^(\\s+at |\\s+\\.\\.\\. \\d+ more|Caused by:)';

function bytesOf(table: Uint8Array | null): number[] {
  assert.ok(table, 'a filter was derived');
  return [...table.keys()].filter((b) => table[b] === 1);
}

test('the default Java pattern: whitespace lead bytes and "C" only', () => {
  assert.deepEqual(bytesOf(firstByteFilter(JAVA)), [
    0x09, 0x0a, 0x0b, 0x0c, 0x0d, 0x20, 0x43,
    0xc2, // U+00A0
    0xe1, // U+1680
    0xe2, // U+2000-200A, 2028/9, 202F, 205F
    0xe3, // U+3000
    0xef, // U+FEFF
  ]);
});

test('literals, escapes, classes, quantifiers and alternatives', () => {
  assert.deepEqual(bytesOf(firstByteFilter('^\\[')), [0x5b]);
  assert.deepEqual(bytesOf(firstByteFilter('^\\[[0-9]{4}-')), [0x5b]);
  assert.deepEqual(bytesOf(firstByteFilter('^[0-9]{4}-[0-9]{2}')), [...'0123456789'].map((c) => c.charCodeAt(0)));
  assert.deepEqual(bytesOf(firstByteFilter('^a?b')), [0x61, 0x62]);
  assert.deepEqual(bytesOf(firstByteFilter('^a*b+c')), [0x61, 0x62]);
  assert.deepEqual(bytesOf(firstByteFilter('^(?:x{0,2}|y)z')), [0x78, 0x79, 0x7a]);
  assert.deepEqual(bytesOf(firstByteFilter('^(?<lead>\\t|\\x41)')), [0x09, 0x41]);
  assert.deepEqual(bytesOf(firstByteFilter('^ab|^cd')), [0x61, 0x63]);
  assert.deepEqual(bytesOf(firstByteFilter('^\\b\\Bx$')), [0x78], 'assertions consume nothing');
  assert.deepEqual(bytesOf(firstByteFilter('^[-a\\]]')), [0x2d, 0x5d, 0x61]);
  assert.deepEqual(bytesOf(firstByteFilter('^\\u00e9t\\u00e9')), [0xc3]);
  assert.deepEqual(bytesOf(firstByteFilter('^错误')), [0xe9]);
  assert.deepEqual(bytesOf(firstByteFilter('^😀')), [0xf0, 0xf1, 0xf2, 0xf3, 0xf4], 'a surrogate pair: any astral lead byte');
  assert.deepEqual(bytesOf(firstByteFilter('^[\\uFFF0-\\uFFFF]')).length, 128 + 1 - 1, 'U+FFFD in the set: every non-ASCII byte');
  assert.deepEqual(bytesOf(firstByteFilter('^\\w')).length, 63);
});

test('patterns without a sound pre-check return null (the RegExp runs on every line)', () => {
  for (const p of ['\\\\$', 'at ', '^.', '^[^a]', '^\\S', '^(?=a)', '^(a)\\1', '^a|b', '^$', '^a?', '^(a|)', '^x{', '^(a', '^a)', '^[]x', '^\\c', '(?i:^a)', '^[\\s-z]', '^\\p{L}']) {
    assert.equal(firstByteFilter(p), null, p);
  }
});

test('sound: whenever the RegExp matches a line, the table admits its first byte', () => {
  const patterns = [
    JAVA,
    '^\\s+(at|\\.{3})\\s+\\b|^Caused by:',
    '^\\[[0-9]{4}-[0-9]{2}-[0-9]{2}',
    '^(\\d{4}|[A-F]+)?x',
    '^[\\u00a0-\\u3000]',
    '^\\uFFFD',
    '^[a-c]*[x-z]',
    '^(?:\\s|é)+',
  ];
  const pieces = ['', ' ', '\t', '\u00a0', '\u3000', '\ufeff', 'at ', '... 3 more', 'Caused by:', 'C', '[2024-01-01', '2024', 'ABF', 'x', 'é', '😀', '\ufffd', 'abc', 'y', 'z', '\n'];
  const invalid = [Buffer.from([0xff]), Buffer.from([0xe2, 0x41]), Buffer.from([0xc3])];
  const rand = seededRandom(11);
  for (const pattern of patterns) {
    const table = firstByteFilter(pattern);
    assert.ok(table, pattern);
    const re = new RegExp(pattern);
    let matched = 0;
    for (let i = 0; i < 3000; i++) {
      const parts: Buffer[] = [];
      for (let k = rand(4); k >= 0; k--) parts.push(rand(5) === 0 ? (invalid[rand(invalid.length)] as Buffer) : Buffer.from(pieces[rand(pieces.length)] as string));
      const bytes = Buffer.concat(parts);
      if (bytes.length === 0) continue;
      if (re.test(bytes.toString('utf8'))) {
        matched++;
        assert.equal(table[bytes[0] as number], 1, `${pattern} matches ${JSON.stringify(bytes.toString('utf8'))}`);
      }
    }
    assert.ok(matched > 0, `${pattern} matched some samples`);
  }
});
