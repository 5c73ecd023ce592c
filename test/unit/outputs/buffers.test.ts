import assert from 'node:assert/strict';
import { test } from 'node:test';
import { inflateSync } from 'node:zlib';
import { BufferPool } from '../../../src/outputs/buffer-pool.ts';
import { WindowCompressor } from '../../../src/outputs/beats/compressor.ts';

test('the pool hands back released buffers that fit, smallest first, and bounds what it keeps', () => {
  const pool = new BufferPool(2, 1024 * 1024);
  const a = pool.acquire(100_000);
  assert.equal(a.length, 131_072, 'power-of-two capacity');
  const b = pool.acquire(10);
  assert.equal(b.length, 65_536, 'at least 64 KiB');
  pool.release(a);
  pool.release(b);
  assert.equal(pool.acquire(1000), b, 'the smallest that fits');
  assert.equal(pool.acquire(70_000), a);
  assert.notEqual(pool.acquire(70_000), a, 'taken buffers are not handed out twice');
  pool.release(Buffer.alloc(2 * 1024 * 1024));
  assert.equal(pool.freeBuffers, 0, 'too large to keep');
  const c = Buffer.alloc(65_536);
  const d = Buffer.alloc(262_144);
  pool.release(c);
  pool.release(a);
  pool.release(d); // full: replaces the smallest
  assert.equal(pool.freeBuffers, 2);
  assert.equal(pool.acquire(200_000), d);
  assert.equal(pool.acquire(1), a);
});

test('one reused deflate context yields a complete, independent zlib stream per window, in order', async () => {
  const z = new WindowCompressor(3);
  const inputs = Array.from({ length: 20 }, (_, i) => Buffer.from(`window ${i} `.repeat(1000 + i * 500)));
  const outputs = await Promise.all(inputs.map((p) => z.compress(p)));
  outputs.forEach((o, i) => assert.deepEqual(inflateSync(o), inputs[i], `window ${i}`));
  assert.ok(outputs.every((o, i) => o.length < (inputs[i] as Buffer).length / 10), 'actually compressed');
  z.close();
  await assert.rejects(z.compress(Buffer.from('late')), /closed/);
});
