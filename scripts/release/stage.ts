// Assembles the release tree that both the tarball and the Debian package are made from:
//
//   bin/dockhand        launcher: the bundled node, the shebang's flags and environment
//   node/bin/node       the pinned Node.js runtime (stripped), node/LICENSE
//   dist/               src/ compiled by tsc (no source maps: src/ is not shipped), and
//                       dist/core/malloc-trim.node, the one native object (scripts/build-native.ts)
//   node_modules/       the production packages of package-lock.json (the stubs copied in),
//                       without what Node.js never loads (prune.ts)
//   package.json        name, version, "type": "module" (dist/ is ESM)
//   systemd/            the unit, /etc/default/dockhand, the shipped dockhand.yaml and the example
import { chmodSync, copyFileSync, cpSync, lstatSync, lutimesSync, mkdirSync, readdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { buildNative } from '../build-native.ts';
import { checkVersion } from './inputs.ts';
import type { ReleaseInputs } from './inputs.ts';
import { TAKEN_OVER_SHEBANG, launcherScript, parseShebang } from './launcher.ts';
import { pruneNodeModules } from './prune.ts';
import { run } from './run.ts';

/** Files of the repository that go into systemd/ of the release, by their name there. */
const SYSTEMD_FILES: [string, string][] = [
  ['systemd/dockhand.service', 'dockhand.service'],
  ['systemd/dockhand.default', 'dockhand.default'],
  ['systemd/dockhand.yaml.example', 'dockhand.yaml.example'],
  ['packaging/dockhand.yaml', 'dockhand.yaml'],
];

export function releaseName(version: string): string {
  return `dockhand-${version}-linux-x64`;
}

function compile(inputs: ReleaseInputs, dist: string): void {
  const tsc = path.join(inputs.root, 'node_modules', 'typescript', 'bin', 'tsc');
  // dist/main.js stays 0644: bin/dockhand is the entry, and nothing should run it on the host's node
  run(process.execPath, [tsc, '-p', 'tsconfig.build.json', '--outDir', dist, '--sourceMap', 'false'], { cwd: inputs.root });
  // required here, unlike in `npm run build`: every release gives memory back when idle
  buildNative(dist);
}

function copyPackages(inputs: ReleaseInputs, dir: string): void {
  for (const p of inputs.packages) {
    const nested = path.join(p.from, 'node_modules');
    // a package's own node_modules/ holds packages the lockfile lists (and classifies) separately
    cpSync(p.from, path.join(dir, p.key), { recursive: true, filter: (src) => src !== nested });
  }
  pruneNodeModules(path.join(dir, 'node_modules'));
}

function copyRuntime(inputs: ReleaseInputs, dir: string): void {
  const bin = path.join(dir, 'node', 'bin');
  mkdirSync(bin, { recursive: true });
  const node = path.join(bin, 'node');
  copyFileSync(inputs.nodeBinary, node);
  chmodSync(node, 0o755);
  // the official binary carries ~18 MB of debug information no agent host uses
  run('strip', ['--strip-all', node]);
  const version = run(node, ['-p', 'process.versions.node']).trim();
  if (version !== inputs.nodeVersion) throw new Error(`the stripped node reports ${version}, not ${inputs.nodeVersion}`);
  copyFileSync(inputs.nodeLicense, path.join(dir, 'node', 'LICENSE'));
}

/**
 * bin/dockhand from the shebang of dist/main.js, which then becomes a comment: in the release the
 * launcher is the only entry (the shebang would name whatever node the PATH has). Same line count,
 * so stack traces keep their line numbers.
 */
function writeLauncher(dir: string): void {
  const main = path.join(dir, 'dist', 'main.js');
  const [first = '', ...rest] = readFileSync(main, 'utf8').split('\n');
  mkdirSync(path.join(dir, 'bin'));
  writeFileSync(path.join(dir, 'bin', 'dockhand'), launcherScript(parseShebang(first)), { mode: 0o755 });
  writeFileSync(main, [`${TAKEN_OVER_SHEBANG}${first.slice(2)}`, ...rest].join('\n'));
}

/** package.json: where `dockhand version` (dist/core/version.js) reads the version from. */
function writeManifest(inputs: ReleaseInputs, dir: string): void {
  const manifest = { name: 'dockhand', version: inputs.version, description: inputs.description, license: inputs.license, private: true, type: 'module' };
  const file = path.join(dir, 'package.json');
  writeFileSync(file, `${JSON.stringify(manifest, null, 2)}\n`);
  chmodSync(file, 0o644);
  lutimesSync(file, inputs.sourceDateEpoch, inputs.sourceDateEpoch);
}

function copySystemdFiles(inputs: ReleaseInputs, dir: string): void {
  mkdirSync(path.join(dir, 'systemd'));
  for (const [from, to] of SYSTEMD_FILES) copyFileSync(path.join(inputs.root, from), path.join(dir, 'systemd', to));
}

/** Same owner-independent modes and one timestamp for every file, so two builds of one commit are identical. */
export function normalize(dir: string, epoch: number): void {
  const walk = (p: string): void => {
    const st = lstatSync(p);
    if (st.isDirectory()) {
      for (const entry of readdirSync(p)) walk(path.join(p, entry));
      chmodSync(p, 0o755);
    } else if (st.isFile()) {
      chmodSync(p, st.mode & 0o111 ? 0o755 : 0o644);
    }
    lutimesSync(p, epoch, epoch);
  };
  walk(dir);
}

/** Makes a staged tree the release of `inputs.version`: renames it, rewrites package.json. Returns its new path. */
export function retarget(dir: string, inputs: ReleaseInputs): string {
  checkVersion(inputs.version);
  const to = path.join(path.dirname(dir), releaseName(inputs.version));
  if (to !== dir) renameSync(dir, to);
  writeManifest(inputs, to);
  return to;
}

/** Builds the release tree under `workDir`; returns its path (`<workDir>/dockhand-<version>-linux-x64`). */
export function stageRelease(inputs: ReleaseInputs, workDir: string): string {
  const dir = path.join(workDir, releaseName(inputs.version));
  mkdirSync(dir, { recursive: true });
  compile(inputs, path.join(dir, 'dist'));
  writeLauncher(dir);
  writeManifest(inputs, dir);
  copyPackages(inputs, dir);
  copyRuntime(inputs, dir);
  copySystemdFiles(inputs, dir);
  normalize(dir, inputs.sourceDateEpoch);
  return dir;
}
