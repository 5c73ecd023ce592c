import assert from 'node:assert/strict';
import { test } from 'node:test';
import { formatDuration, formatSize, parseDuration, parseSize } from '../../../src/config/units.ts';

test('durations parse to milliseconds, including combinations', () => {
  assert.equal(parseDuration('500ms'), 500);
  assert.equal(parseDuration('10s'), 10_000);
  assert.equal(parseDuration('5m'), 300_000);
  assert.equal(parseDuration('1h'), 3_600_000);
  assert.equal(parseDuration('1d'), 86_400_000);
  assert.equal(parseDuration('1m30s'), 90_000);
  assert.equal(parseDuration('1.5s'), 1500);
  assert.equal(parseDuration('0'), 0);
});

test('bad durations are messages, not numbers', () => {
  for (const bad of ['', '10', '10 s', 's', '5x', '-1s', '1s2', 'abc']) {
    assert.equal(typeof parseDuration(bad), 'string', `"${bad}" should be refused`);
  }
});

test('durations format back to the largest whole unit', () => {
  assert.equal(formatDuration(300_000), '5m');
  assert.equal(formatDuration(1500), '1500ms');
  assert.equal(formatDuration(0), '0s');
});

test('sizes parse with binary and decimal units', () => {
  assert.equal(parseSize('1MiB'), 1024 * 1024);
  assert.equal(parseSize('512KiB'), 512 * 1024);
  assert.equal(parseSize('10MB'), 10_000_000);
  assert.equal(parseSize('1gib'), 1024 ** 3);
  assert.equal(parseSize(4096), 4096);
  assert.equal(parseSize('4096'), 4096);
  for (const bad of ['1XB', 'MiB', '-1', '', '1.5.5MiB']) assert.equal(typeof parseSize(bad), 'string', `"${bad}" should be refused`);
  assert.equal(typeof parseSize(-5), 'string');
  assert.equal(formatSize(1024 * 1024), '1MiB');
});
