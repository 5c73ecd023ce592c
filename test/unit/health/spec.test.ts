// Probe and restart specs from labels, config rules and defaults (src/health/spec.ts).
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { ConfigProblem } from '../../../src/core/errors.ts';
import { configSchema } from '../../../src/configuration.ts';
import { HealthSpecResolver, parseHealthLabels } from '../../../src/health/spec.ts';
import type { HealthConfig } from '../../../src/health/spec.ts';

function health(raw: unknown = {}): { health: HealthConfig; problems: ConfigProblem[] } {
  const problems: ConfigProblem[] = [];
  const config = configSchema.decode({ health: raw }, '', { problems, envSources: new Map(), files: [] });
  return { health: config.health, problems };
}

const resolver = (raw: unknown = {}): HealthSpecResolver => {
  const { health: h, problems } = health(raw);
  assert.deepEqual(problems, []);
  return new HealthSpecResolver(h);
};
const container = (labels: Record<string, string>, name = 'web-1', image = 'registry.local/shop/web:8') => ({ name, image, labels });

describe('labels', () => {
  test('a full HTTP probe declaration', () => {
    const spec = resolver().resolve(container({
      'dockhand.probe.type': 'http',
      'dockhand.probe.port': '8080',
      'dockhand.probe.path': '/health',
      'dockhand.probe.method': 'HEAD',
      'dockhand.probe.expect': '200,204',
      'dockhand.probe.host_header': 'shop.example',
      'dockhand.probe.tls': 'true',
      'dockhand.probe.tls_verify': 'no',
      'dockhand.probe.interval': '5s',
      'dockhand.probe.timeout': '1500ms',
      'dockhand.probe.grace': '30s',
      'dockhand.probe.healthy_threshold': '2',
      'dockhand.probe.unhealthy_threshold': '4',
    }));
    assert.equal(spec.probeError, null);
    assert.deepEqual(spec.probe, {
      type: 'http', port: 8080, path: '/health', method: 'HEAD', expect: [{ from: 200, to: 200 }, { from: 204, to: 204 }], expectText: '200,204',
      hostHeader: 'shop.example', tls: true, tlsVerify: false, intervalMs: 5000, timeoutMs: 1500, graceMs: 30_000, healthyThreshold: 2, unhealthyThreshold: 4,
    });
  });

  test('unset keys fall back to health.defaults (and the HTTP defaults)', () => {
    const spec = resolver({ defaults: { interval: '20s', timeout: '3s', grace: '0s', unhealthy_threshold: 5 } }).resolve(container({ 'dockhand.probe.type': 'http', 'dockhand.probe.port': '80' }));
    assert.deepEqual(spec.probe, {
      type: 'http', port: 80, path: '/', method: 'GET', expect: [{ from: 200, to: 399 }], expectText: '200-399',
      hostHeader: null, tls: false, tlsVerify: true, intervalMs: 20_000, timeoutMs: 3000, graceMs: 0, healthyThreshold: 1, unhealthyThreshold: 5,
    });
  });

  test('the timeout is capped at the interval', () => {
    const spec = resolver().resolve(container({ 'dockhand.probe.type': 'tcp', 'dockhand.probe.port': '80', 'dockhand.probe.interval': '1s' }));
    assert.equal(spec.probe?.timeoutMs, 1000);
  });

  test('bad values: no probe, and every problem named by its label', () => {
    const spec = resolver().resolve(container({
      'dockhand.probe.type': 'http',
      'dockhand.probe.port': 'http',
      'dockhand.probe.interval': 'soon',
      'dockhand.probe.expect': '200-',
      'dockhand.probe.method': 'DELETE',
      'dockhand.probe.intervall': '5s',
    }));
    assert.equal(spec.probe, null);
    const error = spec.probeError ?? '';
    for (const label of ['dockhand.probe.port', 'dockhand.probe.interval', 'dockhand.probe.expect', 'dockhand.probe.method']) assert.match(error, new RegExp(`${label.replace(/\./g, '\\.')}: `));
    assert.match(error, /dockhand\.probe\.intervall: unknown label/);
    assert.match(error, /port: expected an integer, got string "http"/);
  });

  test('out-of-range numbers and a path without a slash are refused', () => {
    for (const [k, v] of [['port', '70000'], ['port', '0'], ['unhealthy_threshold', '0'], ['path', 'health'], ['interval', '10ms'], ['host_header', 'bad host']]) {
      const spec = resolver().resolve(container({ 'dockhand.probe.type': 'tcp', 'dockhand.probe.port': '80', [`dockhand.probe.${k}`]: v as string }));
      assert.equal(spec.probe, null, `${k}=${v}`);
      assert.match(spec.probeError ?? '', new RegExp(`dockhand\\.probe\\.${k}: `));
    }
  });

  test('probe labels without a type are an error; type none means no probe', () => {
    assert.match(resolver().resolve(container({ 'dockhand.probe.port': '80' })).probeError ?? '', /type is not set/);
    const none = resolver().resolve(container({ 'dockhand.probe.type': 'none', 'dockhand.probe.port': '80' }));
    assert.equal(none.probe, null);
    assert.equal(none.probeError, null);
    const nothing = resolver().resolve(container({ app: 'x' }));
    assert.equal(nothing.probe, null);
    assert.equal(nothing.probeError, null);
  });

  test('restart labels; a bad one disables the policy and says why', () => {
    const ok = resolver().resolve(container({ 'dockhand.restart': 'on-unhealthy', 'dockhand.restart.max_restarts': '3', 'dockhand.restart.window': '1h', 'dockhand.restart.backoff_base': '2s', 'dockhand.restart.backoff_max': '1m', 'dockhand.restart.reset_after': '30m', 'dockhand.restart.stop_timeout': '30s' }));
    assert.deepEqual(ok.restart, { policy: 'on-unhealthy', maxRestarts: 3, windowMs: 3_600_000, backoffBaseMs: 2000, backoffMaxMs: 60_000, resetAfterMs: 1_800_000, stopTimeoutMs: 30_000 });
    assert.equal(ok.restartError, null);
    const bad = resolver().resolve(container({ 'dockhand.restart': 'sometimes', 'dockhand.restart.max_restarts': '-1' }));
    assert.equal(bad.restart.policy, 'no');
    assert.match(bad.restartError ?? '', /dockhand\.restart: must be one of no, on-unhealthy, on-failure, always/);
    assert.match(bad.restartError ?? '', /dockhand\.restart\.max_restarts: must be between 1 and 1000/);
    const inverted = resolver().resolve(container({ 'dockhand.restart': 'always', 'dockhand.restart.backoff_base': '10m' }));
    assert.equal(inverted.restart.policy, 'no');
    assert.match(inverted.restartError ?? '', /backoff_base .* exceeds backoff_max/);
  });

  test('a restart label alone does not declare a probe, and a probe problem leaves the restart policy alone', () => {
    const spec = resolver().resolve(container({ 'dockhand.restart': 'on-failure', 'dockhand.probe.type': 'udp' }));
    assert.equal(spec.restart.policy, 'on-failure');
    assert.equal(spec.restartError, null);
    assert.match(spec.probeError ?? '', /dockhand\.probe\.type: must be one of tcp, http, none/);
  });

  test('parseHealthLabels ignores other labels', () => {
    const p = parseHealthLabels({ 'com.example': 'x', 'dockhand.logs.type': 'y', 'dockhand.restartx': 'z' });
    assert.equal(p.probeLabelsSet, false);
    assert.deepEqual(p.probeProblems, []);
    assert.deepEqual(p.restartProblems, []);
  });
});

describe('config rules', () => {
  const rules = [
    { match: { image: 'registry.local/shop/*' }, probe: { type: 'http', port: 8080, path: '/ping', interval: '30s' }, restart: { policy: 'on-unhealthy' } },
    { match: { name: 'web-?' }, probe: { path: '/health' }, restart: { max_restarts: 2 } },
    { match: { label: 'tier=batch' }, probe: { type: 'none' }, restart: { policy: 'on-failure' } },
  ];

  test('matching rules apply in order, later keys overriding earlier ones', () => {
    const spec = resolver({ rules }).resolve(container({}));
    assert.deepEqual(spec.rules, [0, 1]);
    assert.equal(spec.probe?.type, 'http');
    assert.equal(spec.probe?.port, 8080);
    assert.equal(spec.probe?.path, '/health');
    assert.equal(spec.probe?.intervalMs, 30_000);
    assert.equal(spec.restart.policy, 'on-unhealthy');
    assert.equal(spec.restart.maxRestarts, 2);
  });

  test('labels win over rules', () => {
    const spec = resolver({ rules }).resolve(container({ 'dockhand.probe.path': '/ready', 'dockhand.restart': 'no' }));
    assert.equal(spec.probe?.path, '/ready');
    assert.equal(spec.restart.policy, 'no');
  });

  test('label rules match key=value or key presence; non-matching containers get defaults', () => {
    const batch = resolver({ rules }).resolve(container({ tier: 'batch' }, 'job', 'other/img:1'));
    assert.deepEqual(batch.rules, [2]);
    assert.equal(batch.probe, null);
    assert.equal(batch.restart.policy, 'on-failure');
    const presence = resolver({ rules: [{ match: { label: 'team' }, restart: { policy: 'always' } }] });
    assert.equal(presence.resolve(container({ team: '' }, 'a', 'b')).restart.policy, 'always');
    assert.equal(presence.resolve(container({}, 'a', 'b')).restart.policy, 'no');
  });

  test('every given match key must match', () => {
    const r = resolver({ rules: [{ match: { name: 'web-*', image: 'other/*' }, restart: { policy: 'always' } }] });
    assert.equal(r.resolve(container({})).restart.policy, 'no');
  });

  test('bad rules are configuration errors with their key path', () => {
    const { problems } = health({ rules: [
      { match: {}, probe: { type: 'tcp' } },
      { match: { name: 'x' }, probe: { expect: 'ok', port: 0 }, restart: { backoff_base: '10m', backoff_max: '1m', policy: 'maybe' } },
    ] });
    const paths = problems.map((p) => p.path).sort();
    assert.deepEqual(paths, ['health.rules[0].match', 'health.rules[1].probe.expect', 'health.rules[1].probe.port', 'health.rules[1].restart.backoff_base', 'health.rules[1].restart.policy']);
  });
});
