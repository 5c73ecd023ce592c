import assert from 'node:assert/strict';
import { test } from 'node:test';
import { SlowStartWindow } from '../../../src/outputs/beats/window.ts';

function grown(w: SlowStartWindow, batchSize: number, times: number): number[] {
  const sizes = [w.size];
  for (let i = 0; i < times; i++) {
    w.grow(batchSize);
    sizes.push(w.size);
  }
  return sizes;
}

test('slow start: 10, then ×1.5 (rounded up) per ACKed window, capped by bulk_max_size', () => {
  assert.deepEqual(grown(new SlowStartWindow(2048), 2048, 12), [10, 15, 23, 35, 53, 80, 120, 180, 270, 405, 608, 912, 1368]);
  const w = new SlowStartWindow(2048);
  grown(w, 2048, 30);
  assert.equal(w.size, 2048);
});

// The cases of Filebeat's libbeat/outputs/logstash/window_test.go.
test('grows up to the batch size when the batch is smaller than the maximum', () => {
  const w = new SlowStartWindow(1024);
  grown(w, 114, 100);
  assert.equal(w.size, 114);
});

test('grows up to the maximum when the batch is larger', () => {
  const w = new SlowStartWindow(64);
  grown(w, 114, 100);
  assert.equal(w.size, 64);
});

test('a window of 1 grows too', () => {
  const w = new SlowStartWindow(1024, true, 1);
  grown(w, 114, 100);
  assert.equal(w.size, 114);
});

test('shrinking halves and never reaches zero', () => {
  const w = new SlowStartWindow(2048);
  grown(w, 2048, 30);
  const sizes = [];
  for (let i = 0; i < 14; i++) {
    w.shrink();
    sizes.push(w.size);
  }
  assert.deepEqual(sizes, [1024, 512, 256, 128, 64, 32, 16, 8, 4, 2, 1, 1, 1, 1]);
});

test('after a shrink, growth returns to the largest window that worked, and stays there', () => {
  const w = new SlowStartWindow(2048);
  grown(w, 2048, 5); // 10 → 80, largest ACKed: 53
  assert.equal(w.size, 80);
  w.shrink(); // 40
  assert.deepEqual(grown(w, 2048, 3), [40, 53, 53, 53]);
});

test('a window larger than the batch is left alone', () => {
  const w = new SlowStartWindow(2048);
  w.grow(5);
  assert.equal(w.size, 10);
});

test('without slow start every window is bulk_max_size and failures do not shrink it', () => {
  const w = new SlowStartWindow(500, false);
  assert.equal(w.size, 500);
  w.shrink();
  w.grow(500);
  assert.equal(w.size, 500);
});
