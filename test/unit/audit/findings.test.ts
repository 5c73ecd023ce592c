// The audit's bookkeeping: first-seen times kept while a finding persists, findings that appear
// and clear (the agent events), exclusions by check, container, or both; the config section.
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { CHECKS } from '../../../src/audit/catalogue.ts';
import { checkCertificates } from '../../../src/audit/cert-checks.ts';
import { AuditExclude } from '../../../src/audit/exclude.ts';
import { FindingStore } from '../../../src/audit/findings.ts';
import type { Outcome } from '../../../src/audit/outcome.ts';
import { registryName } from '../../../src/audit/host-sweep.ts';
import { registryAddress } from '../../../src/audit/registry-probe.ts';
import { loadConfig } from '../../../src/configuration.ts';
import { ConfigError } from '../../../src/core/errors.ts';

const ID = 'c'.repeat(64);
function outcome(check: string, name = 'web'): Outcome {
  return { check, target: `container:${name}`, status: 'fail', detail: 'x', containerId: ID, containerName: name };
}

test('a finding keeps its first-seen time while it persists; appear and clear are reported once', () => {
  const store = new FindingStore(new AuditExclude([]));
  const t0 = Date.parse('2026-12-01T00:00:00Z');
  let change = store.set(ID, [outcome('container.privileged'), outcome('container.root_user')], t0);
  assert.deepEqual(change.appeared.map((f) => f.check), ['container.privileged', 'container.root_user']);
  change = store.set(ID, [outcome('container.privileged')], t0 + 60_000);
  assert.deepEqual(change.appeared, []);
  assert.deepEqual(change.cleared.map((f) => f.check), ['container.root_user']);
  const [f] = store.containerFindings(ID);
  assert.equal(f?.firstSeen, '2026-12-01T00:00:00.000Z');
  assert.equal(f?.cis, '5.4');
  assert.equal(f?.severity, 'critical');
  change = store.set(ID, undefined, t0 + 120_000);
  assert.deepEqual(change.cleared.map((x) => x.check), ['container.privileged']);
  assert.deepEqual(store.findings(), []);
});

test('exclusions: a check everywhere, every check of a container, one check of one container; a change re-publishes', () => {
  const ex = new AuditExclude(['container.no_*', 'container:ci-*', 'container.privileged@dind']);
  assert.equal(ex.checkOff('container.no_pids_limit'), true);
  assert.equal(ex.checkOff('container.privileged'), false);
  assert.equal(ex.containerOff('ci-runner'), true);
  assert.equal(ex.excludes('container.privileged', 'dind'), true);
  assert.equal(ex.excludes('container.privileged', 'web'), false);
  assert.equal(ex.excludes('daemon.icc', undefined), false);

  const store = new FindingStore(new AuditExclude([]));
  store.set(ID, [outcome('container.privileged', 'dind')]);
  const change = store.setExclude(new AuditExclude(['container.privileged@dind']));
  assert.deepEqual(change.cleared.map((f) => f.check), ['container.privileged']);
  assert.deepEqual(store.findings(), []);
});

test('certificates: expired, within 30 days, fine; unreadable; a key that is not the certificate\'s; permission is not a pass', () => {
  const now = Date.parse('2026-12-01T00:00:00Z');
  const out = checkCertificates([
    { path: '/a.crt', use: 'registry r CA', status: 'ok', subject: 'CN=a', notAfter: now - 2 * 86_400_000 },
    { path: '/b.crt', use: 'api.tls.cert', status: 'ok', subject: 'CN=b', notAfter: now + 10 * 86_400_000, keyPath: '/b.key', key: 'mismatch' },
    { path: '/c.crt', use: 'x', status: 'ok', subject: 'CN=c', notAfter: now + 90 * 86_400_000, keyPath: '/c.key', key: 'match' },
    { path: '/d.crt', use: 'x', status: 'unparseable', detail: 'not a PEM or DER certificate' },
    { path: '/e.crt', use: 'daemon --tlscert', status: 'permission' },
    { path: '/f.crt', use: 'x', status: 'missing' },
  ], now);
  assert.deepEqual(out.map((o) => [o.check, o.target, o.status]), [
    ['cert.expiring', '/a.crt', 'fail'],
    ['cert.expiring', '/b.crt', 'fail'],
    ['cert.key_mismatch', '/b.key', 'fail'],
    ['cert.unreadable', '/d.crt', 'fail'],
    ['cert.expiring', '/e.crt', 'not_checked'],
  ]);
  assert.match(out[0]?.detail ?? '', /expired 2026-11-29T00:00:00.000Z \(2 days ago\)/);
  assert.match(out[1]?.detail ?? '', /in 10 days/);
});

test('registry names from certs.d, insecure-registries and mirror URLs', () => {
  assert.equal(registryName('reg.local:5000'), 'reg.local:5000');
  assert.equal(registryName('https://mirror.local/'), 'mirror.local');
  assert.equal(registryName('http://mirror.local'), undefined);
  assert.equal(registryName('10.0.0.0/8'), undefined);
  assert.deepEqual(registryAddress('127.0.0.1:5000'), { host: '127.0.0.1', port: 5000 });
  assert.deepEqual(registryAddress('[::1]:5000'), { host: '::1', port: 5000 });
  assert.deepEqual(registryAddress('reg.local'), { host: 'reg.local', port: 443 });
  assert.equal(registryAddress('a b'), undefined);
});

test('every check has a unique id, a severity and a remediation', () => {
  assert.equal(new Set(CHECKS.map((c) => c.id)).size, CHECKS.length);
  for (const c of CHECKS) assert.ok(c.remediation.length > 10 && c.title.length > 5, c.id);
});

const dir = mkdtempSync(join(tmpdir(), 'dockhand-audit-config-'));
after(() => rmSync(dir, { recursive: true, force: true }));

test('audit config: defaults, and a bad exclude or interval is rejected naming the key', () => {
  const { config } = loadConfig({ env: {} });
  assert.deepEqual(config.audit, { enabled: true, exclude: [], interval: 3_600_000, daemon_config: '/etc/docker/daemon.json', certs_dir: '/etc/docker/certs.d', metric_containers: [], registry_timeout: 5000 });
  const file = join(dir, 'bad.yaml');
  writeFileSync(file, 'audit:\n  exclude: [container.nope, "container:"]\n  interval: 10ms\n');
  try {
    loadConfig({ file, env: {} });
    assert.fail('accepted');
  } catch (err) {
    assert.ok(err instanceof ConfigError);
    const paths = err.problems.map((p) => p.path);
    assert.deepEqual(paths.sort(), ['audit.exclude[0]', 'audit.exclude[1]', 'audit.interval']);
  }
});

test('docs/audit.md describes every check, with its CIS id and severity', () => {
  const doc = readFileSync(new URL('../../../docs/audit.md', import.meta.url), 'utf8');
  for (const c of CHECKS) {
    const row = doc.split('\n').find((l) => l.startsWith(`| \`${c.id}\` |`));
    assert.ok(row, `${c.id} has no row in docs/audit.md`);
    if (c.cis) assert.ok(row.includes(`| ${c.cis} |`), `${c.id}: CIS ${c.cis} not in its row`);
    assert.ok(row.includes(`| ${c.severity} |`), `${c.id}: severity ${c.severity} not in its row`);
  }
});
