// The pieces of `npm run package` that are pure logic, and the configuration the Debian package
// installs as /etc/dockhand/dockhand.yaml: valid as shipped, and its commented-out settings are
// valid keys with the values they claim. The artefacts themselves: test/release/.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { chmodSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, test } from 'node:test';
import { debianVersion } from '../../scripts/release/deb-metadata.ts';
import { launcherScript, parseShebang } from '../../scripts/release/launcher.ts';
import { pruneNodeModules } from '../../scripts/release/prune.ts';
import { loadConfig } from '../../src/configuration.ts';

const ROOT = path.resolve(import.meta.dirname, '..', '..');
const SHIPPED = path.join(ROOT, 'packaging', 'dockhand.yaml');
const work = mkdtempSync(path.join(tmpdir(), 'dockhand-release-unit-'));
after(() => rmSync(work, { recursive: true, force: true }));

test('the shebang of src/main.ts parses into environment and node flags', () => {
  const first = readFileSync(path.join(ROOT, 'src', 'main.ts'), 'utf8').split('\n', 1)[0] ?? '';
  const s = parseShebang(first);
  assert.deepEqual(s.env, [['MALLOC_ARENA_MAX', '2']]);
  assert.ok(s.flags.includes('--max-semi-space-size=4') && s.flags.includes('--heap-growing-percent=50'), s.flags.join(' '));
  assert.throws(() => parseShebang('#!/usr/bin/node'), /unexpected shebang/);
});

test('the launcher finds its release through symbolic links and passes its arguments through', () => {
  // a fake release whose "node" prints what it was given
  const release = path.join(work, 'a release dir');
  mkdirSync(path.join(release, 'bin'), { recursive: true });
  mkdirSync(path.join(release, 'node', 'bin'), { recursive: true });
  writeFileSync(path.join(release, 'node', 'bin', 'node'), '#!/bin/sh\necho "MALLOC_ARENA_MAX=$MALLOC_ARENA_MAX"; for a in "$@"; do echo "[$a]"; done\n', { mode: 0o755 });
  writeFileSync(path.join(release, 'bin', 'dockhand'), launcherScript({ env: [['MALLOC_ARENA_MAX', '2']], flags: ['--max-semi-space-size=1'] }), { mode: 0o755 });
  const link = path.join(work, 'dockhand-link');
  spawnSync('ln', ['-s', path.join(release, 'bin', 'dockhand'), link]);
  const r = spawnSync(link, ['run', '--config', '/etc/a b.yaml'], { encoding: 'utf8', env: { PATH: '/usr/bin:/bin' } });
  assert.equal(r.status, 0, r.stderr);
  assert.equal(r.stdout, `MALLOC_ARENA_MAX=2\n[--max-semi-space-size=1]\n[${release}/dist/main.js]\n[run]\n[--config]\n[/etc/a b.yaml]\n`);
});

test('Debian versions: a semver pre-release sorts before its release', () => {
  assert.equal(debianVersion('1.2.0'), '1.2.0');
  assert.equal(debianVersion('1.2.0-rc.1'), '1.2.0~rc.1');
  assert.equal(spawnSync('dpkg', ['--compare-versions', debianVersion('1.2.0-rc.1'), 'lt', '1.2.0']).status, 0);
});

test('pruning keeps code and licenses, drops what node never loads', () => {
  const nm = path.join(work, 'node_modules');
  const files = {
    'pkg/package.json': '{"name":"pkg","bin":{"pkg":"cli.js"}}', 'pkg/index.js': '', 'pkg/cli.js': '#!/usr/bin/env node', 'pkg/LICENSE.md': '', 'pkg/README.md': '',
    'pkg/index.d.ts': '', 'pkg/index.js.map': '', 'pkg/.npmignore': '', 'pkg/test/a.js': '', 'pkg/lib/test/kept.js': '', 'pkg/types/only.d.ts': '',
    '@scope/p/package.json': '{}', '@scope/p/dist/index.cjs': '', '@scope/p/docs/x.html': '', '.package-lock.json': '',
  };
  for (const [f, content] of Object.entries(files)) {
    mkdirSync(path.dirname(path.join(nm, f)), { recursive: true });
    writeFileSync(path.join(nm, f), content);
  }
  chmodSync(path.join(nm, 'pkg', 'index.js'), 0o755);
  pruneNodeModules(nm);
  const left = spawnSync('find', [nm, '-type', 'f', '-printf', '%P %m\n'], { encoding: 'utf8' }).stdout.trim().split('\n').sort();
  assert.deepEqual(left, ['@scope/p/dist/index.cjs 644', '@scope/p/package.json 644', 'pkg/LICENSE.md 644', 'pkg/index.js 644', 'pkg/lib/test/kept.js 644', 'pkg/package.json 644']);
});

test('packaging/dockhand.yaml is valid as shipped: loopback API, no token needed, nothing but defaults', () => {
  const { config } = loadConfig({ file: SHIPPED, env: {} });
  const { config: defaults } = loadConfig({ env: {} });
  assert.deepEqual(config, defaults);
  assert.deepEqual(config.api.listen, { host: '127.0.0.1', port: 9731 });
  assert.equal(config.api.token_file, null);
  assert.equal(config.state_dir, '/var/lib/dockhand', 'the unit lets the agent write only there');
});

test('the commented-out settings of packaging/dockhand.yaml are valid and show the defaults (the token file and hosts are examples)', () => {
  // `#key:` and `#  key:` lines are settings, `# text` is prose
  const uncommented = readFileSync(SHIPPED, 'utf8').replace(/^#((?: {2})*)([a-z_#-])/gm, '$1$2');
  const file = path.join(work, 'uncommented.yaml');
  writeFileSync(file, uncommented);
  const { config } = loadConfig({ file, env: {}, checkFiles: false });
  const { config: defaults } = loadConfig({ env: {} });
  assert.equal(config.api.token_file, '/etc/dockhand/token');
  assert.deepEqual(config.outputs[0]?.hosts, ['logstash-1.example.net:5044', 'logstash-2.example.net:5044']);
  const same = (c: typeof config): unknown[] => [c.log_level, c.state_dir, c.docker.host, c.api.listen, c.api.metrics_auth, c.logs.roots, c.logs.start_at, c.metrics.interval, c.health.restart.policy];
  assert.deepEqual(same(config), same(defaults));
});
