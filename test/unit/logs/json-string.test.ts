import assert from 'node:assert/strict';
import { isUtf8 } from 'node:buffer';
import test from 'node:test';
import { scanPlain } from '../../../src/logs/json-string.ts';
import { seededRandom } from '../../helpers/seeded-random.ts';

/** The definition: no `"`, `\` or byte below 0x20, and valid UTF-8. */
function plainByDefinition(bytes: Buffer): boolean {
  for (const b of bytes) if (b < 0x20 || b === 0x22 || b === 0x5c) return false;
  return isUtf8(bytes);
}

test('scanPlain: every byte that needs an escape is found at every position and alignment', () => {
  const memory = Buffer.alloc(64);
  for (let offset = 0; offset < 4; offset++) {
    for (let length = 0; length <= 21; length++) {
      for (let at = 0; at < length; at++) {
        for (const bad of [0x00, 0x0a, 0x1f, 0x22, 0x5c]) {
          memory.fill(0x41);
          memory[offset + at] = bad;
          assert.equal(scanPlain(memory, offset, offset + length), false, `byte ${bad} at ${at} of ${length}, offset ${offset}`);
          // the same through a Buffer that starts at the offset (byteOffset unaligned)
          assert.equal(scanPlain(memory.subarray(offset, offset + length)), false);
        }
        // bytes next to the escapes' values are plain: space, `!`, `#`, `[`, `]`, DEL
        memory.fill(0x41);
        for (const good of [0x20, 0x21, 0x23, 0x5b, 0x5d, 0x7f]) memory[offset + at] = good;
        assert.equal(scanPlain(memory, offset, offset + length), true);
      }
      // bytes just outside the range do not count
      memory.fill(0x22);
      memory.fill(0x41, offset + 1, offset + 1 + length);
      assert.equal(scanPlain(memory, offset + 1, offset + 1 + length), true, `length ${length}, offset ${offset}`);
    }
  }
});

test('scanPlain: UTF-8 is checked wherever a byte ≥ 0x80 appears', () => {
  const text = (s: string): Buffer => Buffer.from(s, 'utf8');
  assert.equal(scanPlain(text('订单支付成功 order 42')), true);
  assert.equal(scanPlain(text('order 42 — 成功')), true);
  assert.equal(scanPlain(text('订单 "quoted"')), false, 'a quote after a multibyte character');
  assert.equal(scanPlain(Buffer.from([0x61, 0x62, 0x63, 0x64, 0xc3, 0x28, 0x61, 0x62])), false, 'invalid continuation');
  assert.equal(scanPlain(Buffer.from([0x61, 0x62, 0x63, 0x64, 0x61, 0x62, 0x63, 0xe2, 0x82])), false, 'truncated sequence at the end');
  assert.equal(scanPlain(Buffer.alloc(0)), true);
});

test('scanPlain agrees with the definition on random lines', () => {
  const rand = seededRandom(7);
  const memory = Buffer.alloc(4096);
  const outcomes = { plain: 0, not: 0 };
  for (let round = 0; round < 20_000; round++) {
    const from = rand(8);
    const to = from + rand(300);
    // printable ASCII; now and then a byte from anywhere, or a valid multibyte character
    for (let i = from; i < to; i++) memory[i] = 0x23 + rand(0x39); // '#' … '[': nothing to escape
    const odd = rand(10);
    if (odd < 5 && to > from) memory[from + rand(to - from)] = rand(256);
    else if (odd < 7 && to - from > 3) memory.write('é', from + rand(to - from - 2), 'utf8');
    const line = memory.subarray(from, to);
    const expected = plainByDefinition(line);
    assert.equal(scanPlain(memory, from, to), expected, `round ${round}: ${line.toString('hex')}`);
    outcomes[expected ? 'plain' : 'not']++;
  }
  assert.ok(outcomes.plain > 4000 && outcomes.not > 4000, JSON.stringify(outcomes));
});
