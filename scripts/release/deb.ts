// dockhand_<version>_amd64.deb, from the same release tree as the tarball (hard links), with
// dpkg-deb alone: no debhelper, no network.
//
//   /usr/lib/dockhand/                    the release tree (bin/, node/, dist/, node_modules/)
//   /usr/bin/dockhand                     -> ../lib/dockhand/bin/dockhand
//   /lib/systemd/system/dockhand.service  the unit
//   /etc/dockhand/dockhand.yaml           conffile (packaging/dockhand.yaml)
//   /etc/default/dockhand                 conffile (systemd/dockhand.default)
//   /usr/share/doc/dockhand/              copyright, changelog.gz, examples/dockhand.yaml.example
//   /usr/share/man/man1/dockhand.1.gz, /usr/share/lintian/overrides/dockhand
//   DEBIAN/postinst, prerm, postrm        packaging/deb/: user, state directory, unit (dh_installsystemd's snippets)
import { createHash } from 'node:crypto';
import { chmodSync, copyFileSync, lstatSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { gzipSync } from 'node:zlib';
import { changelogFile, controlFile, copyrightFile, debianVersion } from './deb-metadata.ts';
import type { ReleaseInputs } from './inputs.ts';
import { run } from './run.ts';
import { NATIVE_OBJECT } from '../build-native.ts';
import { normalize } from './stage.ts';

const CONFFILES = ['/etc/dockhand/dockhand.yaml', '/etc/default/dockhand'];
const MAINTAINER_SCRIPTS = ['postinst', 'prerm', 'postrm'];

function place(from: string, to: string): void {
  mkdirSync(path.dirname(to), { recursive: true });
  renameSync(from, to);
}

function write(file: string, data: string | Buffer): void {
  mkdirSync(path.dirname(file), { recursive: true });
  writeFileSync(file, data);
}

/** Every path under `root` (relative, without DEBIAN/), depth first. */
function walk(root: string, dir = root): string[] {
  const out: string[] = [];
  for (const entry of readdirSync(dir).sort()) {
    const full = path.join(dir, entry);
    const rel = path.relative(root, full);
    if (rel === 'DEBIAN') continue;
    out.push(rel);
    if (lstatSync(full).isDirectory()) out.push(...walk(root, full));
  }
  return out;
}

/** Installed-Size as dpkg-gencontrol computes it: KiB per file rounded up, 1 per directory or link. */
function installedSizeKiB(root: string, paths: string[]): number {
  return paths.reduce((sum, rel) => {
    const st = lstatSync(path.join(root, rel));
    return sum + (st.isFile() ? Math.max(1, Math.ceil(st.size / 1024)) : 1);
  }, 0);
}

function md5sums(root: string, paths: string[]): string {
  const conffiles = new Set(CONFFILES.map((c) => c.slice(1)));
  return paths
    .filter((rel) => !conffiles.has(rel) && lstatSync(path.join(root, rel)).isFile())
    .map((rel) => `${createHash('md5').update(readFileSync(path.join(root, rel))).digest('hex')}  ${rel}\n`)
    .join('');
}

/** The shared libraries the bundled node and the addon need, as Depends (dpkg-shlibdeps wants a debian/control to read). */
function shlibsDepends(objects: string[], workDir: string): string {
  const dir = path.join(workDir, 'shlibdeps');
  write(path.join(dir, 'debian', 'control'), 'Source: dockhand\n\nPackage: dockhand\nArchitecture: amd64\n');
  const out = run('dpkg-shlibdeps', ['-O', ...objects.map((o) => `-e${o}`)], { cwd: dir });
  const m = /^shlibs:Depends=(.+)$/m.exec(out);
  if (!m?.[1]) throw new Error(`dpkg-shlibdeps printed no shlibs:Depends: ${out}`);
  return m[1].trim();
}

/** Lays out the package under `<workDir>/deb-<version>` from `releaseDir` and builds it into `out`. */
export function writeDeb(inputs: ReleaseInputs, releaseDir: string, workDir: string, out: string): void {
  const root = path.join(workDir, `deb-${inputs.version}`);
  const lib = path.join(root, 'usr', 'lib', 'dockhand');
  const pkg = path.join(inputs.root, 'packaging');
  mkdirSync(path.dirname(lib), { recursive: true });
  run('cp', ['-al', releaseDir, lib]);

  const systemd = path.join(lib, 'systemd');
  place(path.join(systemd, 'dockhand.service'), path.join(root, 'lib', 'systemd', 'system', 'dockhand.service'));
  place(path.join(systemd, 'dockhand.yaml'), path.join(root, 'etc', 'dockhand', 'dockhand.yaml'));
  place(path.join(systemd, 'dockhand.default'), path.join(root, 'etc', 'default', 'dockhand'));
  place(path.join(systemd, 'dockhand.yaml.example'), path.join(root, 'usr', 'share', 'doc', 'dockhand', 'examples', 'dockhand.yaml.example'));
  rmSync(systemd, { recursive: true });
  mkdirSync(path.join(root, 'usr', 'bin'));
  symlinkSync('../lib/dockhand/bin/dockhand', path.join(root, 'usr', 'bin', 'dockhand'));

  const doc = path.join(root, 'usr', 'share', 'doc', 'dockhand');
  write(path.join(doc, 'copyright'), copyrightFile(inputs));
  write(path.join(doc, 'changelog.gz'), gzipSync(changelogFile(inputs), { level: 9 }));
  write(path.join(root, 'usr', 'share', 'man', 'man1', 'dockhand.1.gz'), gzipSync(readFileSync(path.join(pkg, 'dockhand.1')), { level: 9 }));
  write(path.join(root, 'usr', 'share', 'lintian', 'overrides', 'dockhand'), readFileSync(path.join(pkg, 'deb', 'lintian-overrides')));
  normalize(root, inputs.sourceDateEpoch);

  const paths = walk(root);
  const debian = path.join(root, 'DEBIAN');
  mkdirSync(debian);
  write(path.join(debian, 'control'), controlFile({
    version: debianVersion(inputs.version),
    installedSizeKiB: installedSizeKiB(root, paths),
    shlibsDepends: shlibsDepends([path.join(lib, 'node', 'bin', 'node'), path.join(lib, 'dist', NATIVE_OBJECT)], workDir),
  }));
  write(path.join(debian, 'conffiles'), `${CONFFILES.join('\n')}\n`);
  write(path.join(debian, 'md5sums'), md5sums(root, paths));
  for (const script of MAINTAINER_SCRIPTS) {
    copyFileSync(path.join(pkg, 'deb', script), path.join(debian, script));
    chmodSync(path.join(debian, script), 0o755);
  }
  normalize(debian, inputs.sourceDateEpoch);
  for (const f of ['control', 'conffiles', 'md5sums']) chmodSync(path.join(debian, f), 0o644);
  // xz, dpkg-deb's default and what Debian's archive uses: the smallest download
  run('dpkg-deb', ['--root-owner-group', '-Zxz', '--build', root, out], { env: { ...process.env, SOURCE_DATE_EPOCH: String(inputs.sourceDateEpoch) } });
}
