import assert from 'node:assert/strict';
import { test } from 'node:test';
import { NameFilter, globToRegExp } from '../../../src/logs/glob.ts';

test('globs: *, ?, classes, and literal dots', () => {
  assert.ok(globToRegExp('*.log').test('weberror_aether_nor_8_778283_20150819.log'));
  assert.ok(!globToRegExp('*.log').test('x.log.1'));
  assert.ok(!globToRegExp('*.log').test('xlog'));
  assert.ok(globToRegExp('tracing_??.log').test('tracing_ab.log'));
  assert.ok(globToRegExp('[ab]*.log').test('b1.log'));
  assert.ok(!globToRegExp('[!ab]*.log').test('a1.log'));
  assert.ok(globToRegExp('a+b(c).log').test('a+b(c).log'));
});

test('include then exclude', () => {
  const f = new NameFilter(['*.log'], ['*debug*']);
  assert.equal(f.matches('app.log'), true);
  assert.equal(f.matches('app-debug.log'), false);
  assert.equal(f.matches('app.txt'), false);
});
