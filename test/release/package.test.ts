// `npm run package` and what it makes: the tarball (the pinned Node.js 24, dist/, production
// node_modules, the launcher) runs the agent whatever node the host has; the .deb holds the same
// files where Debian puts them and lintian has nothing to say about it; a run without `npm ci`
// says what to do. Installing the .deb is test/release/deb-install.test.ts.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { cpSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { TAKEN_OVER_SHEBANG, parseShebang } from '../../scripts/release/launcher.ts';
import { AgentProcess, cleanEnv } from '../helpers/agent-process.ts';
import { BeatsReceiver } from '../helpers/beats-receiver.ts';
import { requireDocker } from '../helpers/docker-engine.ts';
import { freePort } from '../helpers/ports.ts';
import { REPO, ensureReleases } from '../helpers/release.ts';
import type { Releases } from '../helpers/release.ts';
import { requireCommands } from '../helpers/requirements.ts';
import { waitFor } from '../helpers/wait.ts';

const TOOLS: [string, string][] = [['cc', 'gcc'], ['strip', 'binutils'], ['dpkg-deb', 'dpkg'], ['dpkg-shlibdeps', 'dpkg-dev'], ['lintian', 'lintian']];
const work = mkdtempSync(path.join(tmpdir(), 'dockhand-package-test-'));
after(() => rmSync(work, { recursive: true, force: true }));
let releases: Releases | undefined;
let tree = '';

before(async () => {
  if (!requireCommands(undefined, TOOLS)) return;
  releases = await ensureReleases();
  spawnSync('tar', ['-xzf', releases.current.tarball, '-C', work]);
  tree = path.join(work, releases.current.name);
}, { timeout: 600_000 });

function sh(cmd: string, args: string[], env: NodeJS.ProcessEnv = { PATH: '/usr/bin:/bin' }): { code: number | null; stdout: string; stderr: string } {
  const r = spawnSync(cmd, args, { encoding: 'utf8', env, timeout: 120_000 });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

void test('npm run package without npm ci first says so, and what is missing', () => {
  // a checkout of the package scripts without node_modules …
  const root = path.join(work, 'no-npm-ci');
  mkdirSync(root);
  for (const f of ['scripts/package.sh', 'scripts/package.ts', 'scripts/build-native.ts', 'scripts/release', 'package.json', 'package-lock.json']) cpSync(path.join(REPO, f), path.join(root, f), { recursive: true });
  const none = sh('sh', [path.join(root, 'scripts', 'package.sh')]);
  assert.equal(none.code, 1);
  assert.match(none.stderr, /node_modules\/\.bin\/node is missing — run `npm ci` first/);

  // … and one whose node_modules has the runtime but not the packages (an interrupted install)
  mkdirSync(path.join(root, 'node_modules', '.bin'), { recursive: true });
  symlinkSync(path.join(REPO, 'node_modules', '.bin', 'node'), path.join(root, 'node_modules', '.bin', 'node'));
  const partial = sh('sh', [path.join(root, 'scripts', 'package.sh')]);
  assert.equal(partial.code, 1, partial.stderr);
  assert.match(partial.stderr, /^npm run package: node_modules does not match package\.json and package-lock\.json — run `npm ci` first:$/m);
  assert.match(partial.stderr, /^ {2}- typescript \(a dev dependency, to compile src\/\) is missing$/m);
  assert.match(partial.stderr, /^ {2}- node_modules\/pino is not installed$/m);
  assert.doesNotMatch(partial.stderr, /\n\s+at /, 'no stack trace');
});

void test('the tarball: bundled Node.js 24, launcher, dist/, production packages only', (t) => {
  if (!releases) return void requireCommands(t, TOOLS);
  const pinned = (JSON.parse(readFileSync(path.join(REPO, 'package.json'), 'utf8')) as { devDependencies: { node: string } }).devDependencies.node;
  const listing = sh('tar', ['-tzf', releases.current.tarball]).stdout.split('\n').filter(Boolean);
  assert.ok(listing.every((p) => p.startsWith(`${releases?.current.name}/`)), 'one top directory');
  for (const f of ['bin/dockhand', 'node/bin/node', 'node/LICENSE', 'dist/main.js', 'dist/cli.js', 'package.json',
    'systemd/dockhand.service', 'systemd/dockhand.default', 'systemd/dockhand.yaml', 'systemd/dockhand.yaml.example',
    'node_modules/dockerode/package.json', 'node_modules/undici/package.json', 'node_modules/ssh2/package.json']) {
    assert.ok(listing.includes(`${releases.current.name}/${f}`), f);
  }
  // no development packages, no declarations, source maps or dotfiles
  for (const dev of ['typescript', 'eslint', 'node', '@types/dockerode', 'typescript-eslint']) {
    assert.ok(!listing.some((p) => p.includes(`/node_modules/${dev}/`)), `${dev} is a dev dependency`);
  }
  assert.deepEqual(listing.filter((p) => /\.(d\.ts|map)$|\/\.[^/]+\/?$/.test(p)), []);
  // the stubs are copied in, not linked to a stubs/ directory
  assert.equal((JSON.parse(readFileSync(path.join(tree, 'node_modules', 'ssh2', 'package.json'), 'utf8')) as { version: string }).version, '0.0.0-dockhand-stub');

  assert.equal(sh(path.join(tree, 'node', 'bin', 'node'), ['-p', 'process.versions.node']).stdout.trim(), pinned);
  assert.doesNotMatch(sh('readelf', ['-S', '--wide', path.join(tree, 'node', 'bin', 'node')]).stdout, /\.symtab|\.debug_info/, 'stripped');
  assert.equal(statSync(path.join(tree, 'bin', 'dockhand')).mode & 0o777, 0o755);
  // the launcher sets what the shebang of src/main.ts sets
  const shebang = parseShebang(readFileSync(path.join(REPO, 'src', 'main.ts'), 'utf8').split('\n', 1)[0] ?? '');
  const launcher = readFileSync(path.join(tree, 'bin', 'dockhand'), 'utf8');
  for (const [k, v] of shebang.env) assert.match(launcher, new RegExp(`^export ${k}=${v}$`, 'm'));
  assert.match(launcher, new RegExp(`^exec "\\$root/node/bin/node" ${shebang.flags.join(' ')} "\\$root/dist/main\\.js" "\\$@"$`, 'm'));
  assert.equal((JSON.parse(readFileSync(path.join(tree, 'package.json'), 'utf8')) as { version: string }).version, releases.current.version);
  // the malloc_trim addon: stripped, hardened (read-only relocations, immediate binding), loaded by the bundled node
  const addon = path.join(tree, 'dist', 'core', 'malloc-trim.node');
  assert.ok(listing.includes(`${releases.current.name}/dist/core/malloc-trim.node`));
  assert.equal(statSync(addon).mode & 0o777, 0o644);
  assert.doesNotMatch(sh('readelf', ['-S', '--wide', addon]).stdout, /\.symtab|\.debug_info/, 'stripped');
  assert.match(sh('readelf', ['-d', addon]).stdout, /\(FLAGS\)\s+BIND_NOW/);
  assert.match(sh('readelf', ['-l', '--wide', addon]).stdout, /GNU_RELRO/);
  const loaded = sh(path.join(tree, 'node', 'bin', 'node'), ['--input-type=module', '-e', `import { mallocTrim } from ${JSON.stringify(path.join(tree, 'dist', 'core', 'malloc-trim.js'))}; const l = mallocTrim(); console.log(l.ok ? typeof l.addon.trim() : l.reason)`]);
  assert.deepEqual(loaded, { code: 0, stdout: 'boolean\n', stderr: '' });
  // compiled without comments (tsconfig.build.json): V8 holds the text of every loaded module;
  // the one comment is main.js's first line, the shebang the launcher took over
  const commented = readdirSync(path.join(tree, 'dist'), { recursive: true, encoding: 'utf8' })
    .filter((f) => {
      if (!f.endsWith('.js')) return false;
      const text = readFileSync(path.join(tree, 'dist', f), 'utf8');
      const code = f === 'main.js' && text.startsWith(TAKEN_OVER_SHEBANG) ? text.slice(text.indexOf('\n') + 1) : text;
      return /^\s*(\/\*\*|\/\/ )/m.test(code);
    });
  assert.deepEqual(commented, []);
});

void test('the launcher runs the bundled node whatever node the PATH finds, also through a symbolic link', (t) => {
  if (!releases) return void requireCommands(t, TOOLS);
  // /usr/bin first: on this machine (and CI) that node is older than the agent supports
  const env = { PATH: '/usr/bin:/bin' };
  assert.deepEqual(sh(path.join(tree, 'bin', 'dockhand'), ['version'], env), { code: 0, stdout: `dockhand ${releases.current.version}\n`, stderr: '' });
  const link = path.join(work, 'usr-bin-dockhand');
  symlinkSync(path.join(tree, 'bin', 'dockhand'), link);
  assert.equal(sh(link, ['version'], env).stdout, `dockhand ${releases.current.version}\n`);
  assert.equal(sh('sh', ['-c', `env -i ${link} version`], env).code, 0, 'an empty environment (no PATH at all) is fine too');
});

void test('the packaged agent runs: ready against the suite\'s Docker engine and a Beats receiver', async (t) => {
  if (!releases) return void requireCommands(t, TOOLS);
  const host = await requireDocker(t);
  if (!host) return;
  const receiver = await BeatsReceiver.start();
  t.after(() => receiver.close());
  const port = await freePort();
  const dir = mkdtempSync(path.join(work, 'run-'));
  const config = path.join(dir, 'dockhand.yaml');
  writeFileSync(config, `state_dir: ${dir}/state\ndocker: { host: "${host}" }\napi: { listen: "127.0.0.1:${port}" }\nlogs: { roots: [${dir}/logs] }\noutputs: [{ type: beats, hosts: ["${receiver.address}"] }]\n`);
  const agent = new AgentProcess(['run', '--config', config], cleanEnv({ PATH: '/usr/bin:/bin' }), path.join(tree, 'bin', 'dockhand'));
  t.after(() => agent.dispose());
  await waitFor('/readyz 200', async () => (await fetch(`http://127.0.0.1:${port}/readyz`)).status === 200 || agent.child.exitCode !== null, 60_000, 100);
  assert.equal(agent.child.exitCode, null, agent.stderr);
  assert.ok(agent.find('dockhand started'));
  assert.deepEqual(agent.lines.filter((l) => l.event === 'memory.no_malloc_trim'), [], 'the release carries the malloc_trim addon');
  const info = (await (await fetch(`http://127.0.0.1:${port}/v1/host`)).json()) as { agent: { version: string; node: string } };
  assert.equal(info.agent.version, releases.current.version);
  assert.match(info.agent.node, /^v24\./);
  agent.child.kill('SIGTERM');
  assert.equal((await agent.exited).code, 0);
});

void test('the .deb: control fields, layout, conffiles and maintainer scripts', (t) => {
  if (!releases) return void requireCommands(t, TOOLS);
  const deb = releases.current.deb;
  const field = (name: string): string => sh('dpkg-deb', ['-f', deb, name]).stdout.trim();
  assert.equal(field('Package'), 'dockhand');
  assert.equal(field('Version'), releases.current.version);
  assert.equal(field('Architecture'), 'amd64');
  assert.match(field('Depends'), /^libc6 \(>= [\d.]+\), .*passwd$/);
  assert.doesNotMatch(field('Depends'), /nodejs/, 'the runtime is bundled');
  const listing = sh('dpkg-deb', ['-c', deb]).stdout;
  for (const p of ['./usr/lib/dockhand/bin/dockhand', './usr/lib/dockhand/node/bin/node', './usr/lib/dockhand/dist/main.js', './usr/lib/dockhand/dist/core/malloc-trim.node', './lib/systemd/system/dockhand.service',
    './etc/dockhand/dockhand.yaml', './etc/default/dockhand', './usr/share/doc/dockhand/copyright', './usr/share/man/man1/dockhand.1.gz']) {
    assert.match(listing, new RegExp(` ${p.replaceAll('.', '\\.')}\\n`), p);
  }
  assert.match(listing, / \.\/usr\/bin\/dockhand -> \.\.\/lib\/dockhand\/bin\/dockhand\n/);
  assert.doesNotMatch(listing, /\.\/usr\/lib\/dockhand\/systemd\//, 'the systemd files go where Debian puts them');
  const control = path.join(work, 'control');
  spawnSync('dpkg-deb', ['-e', deb, control]);
  assert.equal(readFileSync(path.join(control, 'conffiles'), 'utf8'), '/etc/dockhand/dockhand.yaml\n/etc/default/dockhand\n');
  for (const script of ['postinst', 'prerm', 'postrm']) {
    assert.equal(readFileSync(path.join(control, script), 'utf8'), readFileSync(path.join(REPO, 'packaging', 'deb', script), 'utf8'));
    assert.equal(statSync(path.join(control, script)).mode & 0o777, 0o755);
  }
  // the unit in the package is the repository's, byte for byte
  const unit = sh('sh', ['-c', `dpkg-deb --fsys-tarfile '${deb}' | tar -xOf - ./lib/systemd/system/dockhand.service`]).stdout;
  assert.equal(unit, readFileSync(path.join(REPO, 'systemd', 'dockhand.service'), 'utf8'));
});

void test('lintian: no error and no warning; each override says why it is kept', (t) => {
  if (!releases) return void requireCommands(t, TOOLS);
  const r = sh('lintian', ['--fail-on', 'error,warning', '--tag-display-limit', '0', releases.current.deb], { PATH: '/usr/bin:/bin', LANG: 'C.UTF-8' });
  const tags = r.stdout.split('\n').filter((l) => /^[EW]: /.test(l));
  assert.deepEqual(tags, []);
  assert.equal(r.code, 0, r.stdout + r.stderr);
  // every override line follows a comment block that gives the reason
  const overrides = readFileSync(path.join(REPO, 'packaging', 'deb', 'lintian-overrides'), 'utf8').split('\n');
  overrides.forEach((line, i) => {
    if (line.startsWith('dockhand: ')) assert.match(overrides[i - 1] ?? '', /^# \S/, `override on line ${i + 1} without a reason above it`);
  });
});

void test('release N+1 is the same build under another version', (t) => {
  if (!releases) return void requireCommands(t, TOOLS);
  const list = (r: Releases['current']): string[] => sh('tar', ['-tzf', r.tarball]).stdout.split('\n').map((p) => p.replace(r.name, 'TOP'));
  assert.deepEqual(list(releases.next), list(releases.current));
  assert.equal(sh('dpkg-deb', ['-f', releases.next.deb, 'Version']).stdout.trim(), releases.next.version);
  assert.equal(spawnSync('dpkg', ['--compare-versions', releases.next.version, 'gt', releases.current.version]).status, 0);
});
