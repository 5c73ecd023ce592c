import assert from 'node:assert/strict';
import { test } from 'node:test';
import { accepts } from '../../../src/api/accept.ts';
import { statusForCode } from '../../../src/api/http-errors.ts';

test('no Accept header, or */*, accepts anything', () => {
  assert.equal(accepts(undefined, 'application/json'), true);
  assert.equal(accepts('', 'application/json'), true);
  assert.equal(accepts('*/*', 'text/plain'), true);
  assert.equal(accepts('garbage', 'application/json'), true, 'nothing parseable: as if absent');
});

test('exact types and type/* ranges, case-insensitive, parameters ignored', () => {
  assert.equal(accepts('application/json', 'application/json'), true);
  assert.equal(accepts('Application/JSON; charset=utf-8', 'application/json'), true);
  assert.equal(accepts('application/*', 'application/json'), true);
  assert.equal(accepts('text/html, application/xml', 'application/json'), false);
  assert.equal(accepts('text/*', 'application/json'), false);
});

test('q=0 refuses, and the most specific matching range decides', () => {
  assert.equal(accepts('application/json;q=0', 'application/json'), false);
  assert.equal(accepts('text/plain;q=0, */*', 'text/plain'), false);
  assert.equal(accepts('text/*;q=0, text/plain;q=0.5', 'text/plain'), true);
  assert.equal(accepts('*/*;q=0', 'application/json'), false);
});

test('what Prometheus sends accepts the text format', () => {
  const prometheus = 'application/openmetrics-text;version=1.0.0,application/openmetrics-text;version=0.0.1;q=0.75,text/plain;version=0.0.4;q=0.5,*/*;q=0.1';
  assert.equal(accepts(prometheus, 'text/plain'), true);
});

test('NOT_ACCEPTABLE is a 406', () => {
  assert.equal(statusForCode('NOT_ACCEPTABLE'), 406);
});
