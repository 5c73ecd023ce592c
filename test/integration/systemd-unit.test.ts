// The shipped systemd unit: `systemd-analyze verify` accepts it without a warning, the directives
// operators and the Ansible role rely on are there, its security exposure does not regress, and
// the example configuration and environment files next to it are valid for the current schema.
//
// `verify` insists that ExecStart's binary exists, and /usr/bin/dockhand is not installed on a
// build machine: the checks run on a temporary copy whose ExecStart names the Node binary running
// this test, every other line identical.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import type { TestContext } from 'node:test';
import { loadConfig } from '../../src/configuration.ts';
import { missing } from '../helpers/requirements.ts';

const REPO = path.resolve(import.meta.dirname, '..', '..');
const UNIT_FILE = path.join(REPO, 'systemd', 'dockhand.service');
const ENV_EXAMPLE = path.join(REPO, 'systemd', 'dockhand.default');
const CONFIG_EXAMPLE = path.join(REPO, 'systemd', 'dockhand.yaml.example');
const EXEC_START = 'ExecStart=/usr/bin/dockhand run --config /etc/dockhand/dockhand.yaml';
/** The agent bounds its own graceful stop at about this long (README.md, CLI: 25 s); systemd must wait longer. */
const AGENT_STOP_BOUND_S = 30;
/** `systemd-analyze security` exposure (0 = locked down, 10 = unprotected) the unit must stay under. */
const MAX_EXPOSURE = 2.5;

interface Analyzer {
  version: number;
}

/** systemd-analyze and its version, or undefined after failing (CI) or skipping (elsewhere). */
function requireAnalyzer(t: TestContext): Analyzer | undefined {
  const r = spawnSync('systemd-analyze', ['--version'], { encoding: 'utf8' });
  if (r.error || r.status !== 0) {
    const why = `systemd-analyze is not available (${r.error?.message ?? `exit ${r.status}`}); install the systemd package`;
    missing(t, why);
    return undefined;
  }
  const version = Number(/systemd (\d+)/.exec(r.stdout)?.[1] ?? 0);
  return { version };
}

/** [Service]/[Unit]/[Install] assignments: key → values in file order (a key may repeat). */
function parseUnit(text: string): Map<string, string[]> {
  const directives = new Map<string, string[]>();
  for (const raw of text.split('\n')) {
    const line = raw.trim();
    if (line === '' || line.startsWith('#') || line.startsWith(';') || line.startsWith('[')) continue;
    const eq = line.indexOf('=');
    assert.ok(eq > 0, `not a key=value line: ${line}`);
    const key = line.slice(0, eq);
    directives.set(key, [...(directives.get(key) ?? []), line.slice(eq + 1)]);
  }
  return directives;
}

/** Writes the unit with ExecStart pointed at an existing binary; returns its path and a cleanup. */
function unitCopy(): { file: string; cleanup: () => void } {
  const text = readFileSync(UNIT_FILE, 'utf8');
  const lines = text.split('\n');
  const at = lines.indexOf(EXEC_START);
  assert.ok(at >= 0, `${EXEC_START} not found in ${UNIT_FILE}`);
  assert.ok(!process.execPath.includes(' '), 'the Node binary path must not contain spaces for ExecStart');
  lines[at] = EXEC_START.replace('/usr/bin/dockhand', process.execPath);
  const dir = mkdtempSync(path.join(tmpdir(), 'dockhand-unit-'));
  const file = path.join(dir, 'dockhand.service'); // verify derives the unit name from the file name
  writeFileSync(file, lines.join('\n'));
  const changed = text.split('\n').filter((line, i) => line !== lines[i]);
  assert.deepEqual(changed, [EXEC_START], 'only the ExecStart line may differ');
  return { file, cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}

void test('the unit has the directives operators rely on', () => {
  const unit = parseUnit(readFileSync(UNIT_FILE, 'utf8'));
  const one = (key: string): string | undefined => unit.get(key)?.at(-1);

  assert.equal(one('ExecStart'), EXEC_START.slice('ExecStart='.length));
  // the shell's kill: /bin/kill (procps) is missing on minimal hosts (test/release/ansible-role.test.ts reloads through it)
  assert.equal(one('ExecReload'), "/bin/sh -c 'kill -HUP $$MAINPID'");
  assert.equal(one('Restart'), 'always');
  assert.equal(one('KillMode'), 'mixed');
  const stopTimeout = Number(/^(\d+)s?$/.exec(one('TimeoutStopSec') ?? '')?.[1]);
  assert.ok(stopTimeout > AGENT_STOP_BOUND_S, `TimeoutStopSec (${stopTimeout}) must exceed the agent's own stop bound`);
  assert.equal(one('EnvironmentFile'), '-/etc/default/dockhand');
  assert.equal(one('StateDirectory'), 'dockhand');
  assert.equal(one('User'), 'dockhand');
  assert.equal(one('Group'), 'dockhand');
  assert.equal(one('SupplementaryGroups'), 'docker');

  assert.equal(one('NoNewPrivileges'), 'yes');
  assert.equal(one('ProtectSystem'), 'strict');
  assert.deepEqual(unit.get('ReadWritePaths'), ['/var/lib/dockhand']);
  // A missing log directory must not fail the unit (226/NAMESPACE): optional path.
  assert.deepEqual(unit.get('ReadOnlyPaths'), ['-/data/application/logs']);
  assert.equal(one('CapabilityBoundingSet'), '');
  for (const key of ['ProtectHome', 'PrivateTmp', 'PrivateDevices', 'ProtectKernelTunables', 'ProtectKernelModules',
    'ProtectControlGroups', 'RestrictNamespaces', 'LockPersonality', 'RestrictRealtime', 'RestrictSUIDSGID']) {
    assert.equal(one(key), 'yes', key);
  }
  assert.equal(one('SystemCallArchitectures'), 'native');
  assert.equal(one('RestrictAddressFamilies'), 'AF_UNIX AF_INET AF_INET6 AF_NETLINK');
  assert.equal(one('LimitNOFILE'), '65536');
  assert.match(one('MemoryMax') ?? '', /^\d+[KMG]$/);

  // Settings that would break the agent: V8's JIT needs W+X pages; the docker group and other
  // users' /proc/<pid> must stay visible.
  assert.equal(unit.get('MemoryDenyWriteExecute'), undefined, 'MemoryDenyWriteExecute breaks V8');
  assert.equal(unit.get('PrivateUsers'), undefined, 'PrivateUsers hides the docker group');
  assert.equal(unit.get('ProtectProc'), undefined, 'ProtectProc hides containers\' /proc/<pid>');
  assert.equal(unit.get('ProcSubset'), undefined, 'ProcSubset=pid hides /proc/stat, /proc/meminfo');
  assert.equal(unit.get('PrivateNetwork'), undefined, 'the agent needs the host network');
});

void test('systemd-analyze verify accepts the unit without warnings', (t) => {
  const analyzer = requireAnalyzer(t);
  if (!analyzer) return;
  const { file, cleanup } = unitCopy();
  t.after(cleanup);

  // --man=no: no man pages needed. --recursive-errors=no (systemd >= 251): problems in units this
  // one merely orders against (docker.service, network-online.target) are the machine's, not ours.
  const args = ['verify', '--man=no'];
  if (analyzer.version >= 251) args.push('--recursive-errors=no');
  const r = spawnSync('systemd-analyze', [...args, file], { encoding: 'utf8' });
  const ours = r.stderr.split('\n').filter((line) => line.includes('dockhand') || line.includes(path.dirname(file)));
  // Unknown keys and bad values are only warnings (exit 0), hence the look at stderr.
  assert.deepEqual(ours, [], `systemd-analyze verify warned about the unit:\n${r.stderr}`);
  assert.equal(r.status, 0, `systemd-analyze verify exited ${r.status}:\n${r.stderr}`);
});

void test('systemd-analyze security rates the unit as well confined', (t) => {
  const analyzer = requireAnalyzer(t);
  if (!analyzer) return;
  if (analyzer.version < 250) {
    missing(t, `systemd ${analyzer.version} has no \`security --offline\` (needs 250)`);
    return;
  }
  const { file, cleanup } = unitCopy();
  t.after(cleanup);

  const r = spawnSync('systemd-analyze', ['security', '--offline=yes', '--no-pager', file], { encoding: 'utf8' });
  assert.equal(r.status, 0, `systemd-analyze security exited ${r.status}:\n${r.stderr}`);
  const exposure = Number(/Overall exposure level for dockhand\.service: (\d+(?:\.\d+)?)/.exec(r.stdout)?.[1]);
  assert.ok(Number.isFinite(exposure), `no exposure level in:\n${r.stdout}`);
  t.diagnostic(`exposure ${exposure}`);
  assert.ok(exposure <= MAX_EXPOSURE, `exposure ${exposure} > ${MAX_EXPOSURE}:\n${r.stdout}`);
});

void test('the example config and environment file are valid for the current schema', () => {
  // Every commented-out DOCKHAND_* override in the example, applied at once on top of the example
  // config: unknown names or bad values are configuration errors, so the examples cannot drift.
  const env: Record<string, string> = {};
  for (const line of readFileSync(ENV_EXAMPLE, 'utf8').split('\n')) {
    const m = /^#(DOCKHAND_[A-Z0-9_]+)=(.*)$/.exec(line);
    if (m) env[m[1] as string] = (m[2] as string).replace(/^"(.*)"$/, '$1');
  }
  assert.ok(Object.keys(env).length >= 5, 'the environment example lost its overrides');

  // Referenced files (token, certificates) exist only on a configured host.
  const plain = loadConfig({ file: CONFIG_EXAMPLE, env: {}, checkFiles: false }).config;
  assert.equal(plain.state_dir, '/var/lib/dockhand', 'the unit only lets the agent write /var/lib/dockhand');
  assert.equal(plain.api.token_file, '/etc/dockhand/token');
  const overridden = loadConfig({ file: CONFIG_EXAMPLE, env, checkFiles: false }).config;
  assert.equal(overridden.logs.start_at, 'end');
});
