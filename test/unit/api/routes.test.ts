import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { DockhandError } from '../../../src/core/errors.ts';
import { integerParam, parseRequestTarget, RouteTable } from '../../../src/api/routes.ts';
import type { RouteDefinition } from '../../../src/api/routes.ts';

const ok = (): { json: unknown } => ({ json: {} });
const route = (method: RouteDefinition['method'], pattern: string, access?: RouteDefinition['access']): RouteDefinition => ({
  method,
  pattern,
  handler: ok,
  ...(access === undefined ? {} : { access }),
});

function badRequest(fn: () => unknown, message: RegExp): void {
  assert.throws(fn, (err: unknown) => err instanceof DockhandError && err.code === 'BAD_REQUEST' && message.test(err.message));
}

void describe('parseRequestTarget', () => {
  void it('splits path and query and decodes segments', () => {
    const t = parseRequestTarget('/v1/containers/my%20app?since=3&limit=2');
    assert.deepEqual(t.segments, ['v1', 'containers', 'my app']);
    assert.equal(t.path, '/v1/containers/my app');
    assert.equal(t.query.get('since'), '3');
    assert.equal(t.query.get('limit'), '2');
  });

  void it('maps the root to no segments', () => {
    assert.deepEqual(parseRequestTarget('/').segments, []);
    assert.deepEqual(parseRequestTarget('/?x=1').segments, []);
  });

  void it('refuses dot segments, plain or percent-encoded', () => {
    badRequest(() => parseRequestTarget('/v1/../healthz'), /dot segment/);
    badRequest(() => parseRequestTarget('/v1/%2e%2e/healthz'), /dot segment/);
    badRequest(() => parseRequestTarget('/./healthz'), /dot segment/);
  });

  void it('refuses encoded slashes, backslashes and NUL', () => {
    badRequest(() => parseRequestTarget('/v1/containers/a%2Fb'), /slash/);
    badRequest(() => parseRequestTarget('/v1/containers/a%5Cb'), /slash/);
    badRequest(() => parseRequestTarget('/v1/containers/a\\b'), /slash/);
    badRequest(() => parseRequestTarget('/v1/containers/a%00'), /NUL/);
  });

  void it('refuses targets that are not origin-form paths', () => {
    badRequest(() => parseRequestTarget('//evil.example/healthz'), /absolute path/);
    badRequest(() => parseRequestTarget('http://127.0.0.1/healthz'), /absolute path/);
    badRequest(() => parseRequestTarget('*'), /absolute path/);
  });

  void it('refuses malformed percent-encoding', () => {
    badRequest(() => parseRequestTarget('/v1/%zz'), /percent-encoding/);
  });

  void it('keeps empty segments so trailing slashes do not match', () => {
    assert.deepEqual(parseRequestTarget('/healthz/').segments, ['healthz', '']);
  });
});

void describe('RouteTable', () => {
  void it('matches static routes and extracts parameters', () => {
    const table = new RouteTable();
    table.add(route('GET', '/v1/containers'));
    table.add(route('GET', '/v1/containers/:ref'));
    const list = table.match('GET', ['v1', 'containers']);
    assert.equal(list.kind, 'found');
    const one = table.match('GET', ['v1', 'containers', 'abc']);
    assert.ok(one.kind === 'found');
    assert.deepEqual(one.params, { ref: 'abc' });
    assert.equal(one.route.pattern, '/v1/containers/:ref');
  });

  void it('prefers a static segment over a parameter whatever the insertion order', () => {
    const table = new RouteTable();
    table.add(route('GET', '/v1/zabbix/:kind'));
    table.add(route('GET', '/v1/zabbix/discovery'));
    const m = table.match('GET', ['v1', 'zabbix', 'discovery']);
    assert.ok(m.kind === 'found');
    assert.equal(m.route.pattern, '/v1/zabbix/discovery');
    const p = table.match('GET', ['v1', 'zabbix', 'items']);
    assert.ok(p.kind === 'found');
    assert.equal(p.route.pattern, '/v1/zabbix/:kind');
  });

  void it('serves HEAD from GET routes', () => {
    const table = new RouteTable();
    table.add(route('GET', '/healthz', 'public'));
    const m = table.match('HEAD', ['healthz']);
    assert.ok(m.kind === 'found');
    assert.equal(m.access, 'public');
  });

  void it('reports the allowed methods for a known path', () => {
    const table = new RouteTable();
    table.add(route('GET', '/v1/probes/:name'));
    table.add(route('POST', '/v1/probes/:name'));
    const m = table.match('DELETE', ['v1', 'probes', 'web']);
    assert.ok(m.kind === 'method-not-allowed');
    assert.deepEqual(m.allow, ['GET', 'HEAD', 'POST']);
    assert.equal(m.access, 'protected');
  });

  void it('does not match empty parameters or wrong lengths', () => {
    const table = new RouteTable();
    table.add(route('GET', '/v1/containers/:ref'));
    assert.equal(table.match('GET', ['v1', 'containers', '']).kind, 'not-found');
    assert.equal(table.match('GET', ['v1', 'containers']).kind, 'not-found');
    assert.equal(table.match('GET', ['v1', 'containers', 'a', 'b']).kind, 'not-found');
  });

  void it('rejects clashing and malformed patterns', () => {
    const table = new RouteTable();
    table.add(route('GET', '/v1/containers/:ref'));
    assert.throws(() => table.add(route('GET', '/v1/containers/:id')), /clashes/);
    table.add(route('POST', '/v1/containers/:id'));
    assert.throws(() => table.add(route('GET', 'v1/x')), /must start with/);
    assert.throws(() => table.add(route('GET', '/v1//x')), /empty segment/);
    assert.throws(() => table.add(route('GET', '/v1/:1x')), /parameter name/);
  });
});

void describe('integerParam', () => {
  const q = (s: string): URLSearchParams => new URLSearchParams(s);

  void it('returns the fallback when absent and the value when valid', () => {
    assert.equal(integerParam(q(''), 'since', 7), 7);
    assert.equal(integerParam(q('since=0'), 'since', 7), 0);
    assert.equal(integerParam(q('since=42'), 'since', 7), 42);
  });

  void it('names the parameter when the value is not a non-negative integer', () => {
    for (const bad of ['-1', '1.5', 'abc', '', '1e3', ' 1', '0x10', '99999999999999999999']) {
      badRequest(() => integerParam(q(`limit=${encodeURIComponent(bad)}`), 'limit', 1), /"limit" must be a non-negative integer/);
    }
  });

  void it('refuses a repeated parameter', () => {
    badRequest(() => integerParam(q('since=1&since=2'), 'since', 0), /more than once/);
  });
});
