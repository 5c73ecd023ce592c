import assert from 'node:assert/strict';
import { test } from 'node:test';
import { GlobFilter, globToRegExp } from '../../../src/core/glob.ts';

test('file names: *, ?, classes, and literal dots', () => {
  assert.ok(globToRegExp('*.log').test('weberror_aether_nor_8_778283_20150819.log'));
  assert.ok(!globToRegExp('*.log').test('x.log.1'));
  assert.ok(!globToRegExp('*.log').test('xlog'));
  assert.ok(globToRegExp('tracing_??.log').test('tracing_ab.log'));
  assert.ok(globToRegExp('[ab]*.log').test('b1.log'));
  assert.ok(!globToRegExp('[!ab]*.log').test('a1.log'));
  assert.ok(globToRegExp('a+b(c).log').test('a+b(c).log'));
  assert.ok(globToRegExp('*.[lL][oO][gG]').test('app.LOG'));
});

test('container names and image references: the whole string, * crosses /', () => {
  assert.equal(globToRegExp('web-*').test('web-12'), true);
  assert.equal(globToRegExp('web-?').test('web-12'), false);
  assert.equal(globToRegExp('web-[0-9]*').test('web-1a'), true);
  assert.equal(globToRegExp('a.b').test('axb'), false);
  assert.equal(globToRegExp('registry.local/payments/*').test('registry.local/payments/api/v2:8'), true);
  assert.equal(globToRegExp('registry.local/payments/*').test('registry.local/billing/api:8'), false);
  assert.equal(globToRegExp('app:[1').test('app:[1'), true, 'an unclosed [ is literal');
});

test('include then exclude', () => {
  const f = new GlobFilter(['*.log'], ['*debug*']);
  assert.equal(f.matches('app.log'), true);
  assert.equal(f.matches('app-debug.log'), false);
  assert.equal(f.matches('app.txt'), false);
});
