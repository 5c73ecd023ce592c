import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parseStatusRanges, statusAccepted } from '../../../src/health/status-ranges.ts';

test('codes, ranges and classes', () => {
  assert.deepEqual(parseStatusRanges('200-399'), [{ from: 200, to: 399 }]);
  assert.deepEqual(parseStatusRanges('200, 204,301-302'), [{ from: 200, to: 200 }, { from: 204, to: 204 }, { from: 301, to: 302 }]);
  assert.deepEqual(parseStatusRanges('2xx,3XX'), [{ from: 200, to: 299 }, { from: 300, to: 399 }]);
});

test('bad lists are refused with a reason', () => {
  for (const bad of ['', 'ok', '200-', '99', '600', '300-200', '2xx-3xx', '200;204']) {
    assert.equal(typeof parseStatusRanges(bad), 'string', bad);
  }
});

test('statusAccepted', () => {
  const r = parseStatusRanges('200-299,304') as { from: number; to: number }[];
  assert.equal(statusAccepted(200, r), true);
  assert.equal(statusAccepted(299, r), true);
  assert.equal(statusAccepted(304, r), true);
  assert.equal(statusAccepted(301, r), false);
  assert.equal(statusAccepted(500, r), false);
});
