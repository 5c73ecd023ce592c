// The built agent started by a Node.js older than the supported one — what a hand-made install
// gets when the PATH finds the distribution's node (Debian 12: 18; NodeSource hosts: 20): exit 1
// and one line naming the running and the required version, never a dependency's stack trace.
// Uses the older node(s) installed on this machine; .ci/run makes sure there is one.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { realpathSync } from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import type { TestContext } from 'node:test';
import { REQUIRED_NODE, unsupportedNode } from '../../src/core/node-version.ts';
import { MAIN, assertBuilt } from '../helpers/agent-process.ts';
import { missing } from '../helpers/requirements.ts';

interface OldNode { path: string; version: string }

/** Every node on this machine older than REQUIRED_NODE (by real path, so links count once). */
function olderNodes(): OldNode[] {
  const which = spawnSync('which', ['-a', 'node', 'nodejs'], { encoding: 'utf8' });
  const candidates = [...(which.stdout ?? '').split('\n'), '/usr/bin/node', '/usr/bin/nodejs', '/usr/local/bin/node'].filter(Boolean);
  const seen = new Set<string>();
  const found: OldNode[] = [];
  for (const candidate of candidates) {
    let real: string;
    try { real = realpathSync(candidate); } catch { continue; }
    if (seen.has(real)) continue;
    seen.add(real);
    const r = spawnSync(candidate, ['-p', 'process.versions.node'], { encoding: 'utf8' });
    const version = r.stdout?.trim();
    if (r.status === 0 && version && unsupportedNode(version) !== undefined) found.push({ path: candidate, version });
  }
  return found;
}

function requireOlderNodes(t: TestContext): OldNode[] {
  const found = olderNodes();
  if (found.length === 0) missing(t, `no Node.js older than ${REQUIRED_NODE} on this machine (Debian 12: apt-get install nodejs, which is 18)`);
  return found;
}

function assertRefusal(r: ReturnType<typeof spawnSync>, old: OldNode): void {
  const stderr = String(r.stderr);
  assert.equal(r.status, 1, `exit status (stderr: ${stderr})`);
  assert.equal(String(r.stdout), '');
  const lines = stderr.split('\n').filter(Boolean);
  assert.equal(lines.length, 1, `one line, got:\n${stderr}`);
  assert.match(lines[0] ?? '', new RegExp(`^dockhand: Node\\.js v${old.version.replaceAll('.', '\\.')} is too old: dockhand needs Node\\.js >= ${REQUIRED_NODE.replaceAll('.', '\\.')} `));
  assert.doesNotMatch(stderr, /TypeError|node_modules|\n\s+at /);
}

void test('an older node running dist/main.js refuses every command in one line, exit 1', (t) => {
  assertBuilt();
  for (const old of requireOlderNodes(t)) {
    t.diagnostic(`${old.path}: v${old.version}`);
    for (const args of [['version'], ['run'], ['check-config', '/dev/null']]) {
      assertRefusal(spawnSync(old.path, [MAIN, ...args], { encoding: 'utf8', timeout: 30_000 }), old);
    }
  }
});

void test('through the shebang, with an older node first on the PATH (a hand-made install)', (t) => {
  assertBuilt();
  const olds = requireOlderNodes(t).filter((o) => path.basename(o.path) === 'node');
  if (olds.length === 0) {
    missing(t, 'no older Node.js installed under the name `node`');
    return;
  }
  for (const old of olds) {
    // env -S … node in the shebang looks `node` up on this PATH, as systemd's would
    const env = { PATH: `${path.dirname(old.path)}:/usr/bin:/bin`, HOME: '/nonexistent' };
    assertRefusal(spawnSync(MAIN, ['run'], { encoding: 'utf8', env, timeout: 30_000 }), old);
  }
});
