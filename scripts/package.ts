// `npm run package`: the release, into release/ (or --out DIR):
//   dockhand-<version>-linux-x64.tar.gz   the pinned Node.js 24, dist/, production node_modules,
//                                         bin/dockhand (launcher), systemd/ files
//   dockhand_<version>_amd64.deb          the same files as a Debian package
// Needs `npm ci` first (it brings the runtime the release bundles and Node-API's headers), a C
// compiler (cc, for dist/core/malloc-trim.node), tar, gzip, strip,
// dpkg-deb and dpkg-shlibdeps; no network. scripts/package.sh checks the first before this runs.
//
//   node scripts/package.ts [--out DIR] [--version X.Y.Z …]
// --version makes releases of other version numbers from the same build (tests make an upgrade
// N → N+1 that way); repeat it for several.
import { mkdirSync, mkdtempSync, renameSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { writeDeb } from './release/deb.ts';
import { debianVersion } from './release/deb-metadata.ts';
import { releaseInputs } from './release/inputs.ts';
import { ReleaseError } from './release/run.ts';
import { releaseName, retarget, stageRelease } from './release/stage.ts';
import { writeTarball } from './release/tarball.ts';

const ROOT = path.resolve(import.meta.dirname, '..');

function mb(file: string): string {
  return `${(statSync(file).size / 1e6).toFixed(1)} MB`;
}

/** Writes through a temporary name, so an interrupted run never leaves a truncated artefact. */
function produce(file: string, write: (partial: string) => void): void {
  const partial = `${file}.partial`;
  rmSync(partial, { force: true });
  write(partial);
  renameSync(partial, file);
}

function main(): void {
  const { values } = parseArgs({ options: { out: { type: 'string', default: 'release' }, version: { type: 'string', multiple: true } } });
  const out = path.resolve(ROOT, values.out);
  const started = Date.now();
  const versions = values.version ?? [undefined];
  const first = releaseInputs(ROOT, versions[0]);
  const work = mkdtempSync(path.join(tmpdir(), 'dockhand-package-'));
  try {
    let dir = stageRelease(first, work);
    mkdirSync(out, { recursive: true });
    const shown = (f: string): string => path.relative(process.cwd(), f) || f;
    for (const version of versions) {
      const inputs = { ...first, version: version ?? first.version };
      dir = retarget(dir, inputs);
      const tarball = path.join(out, `${releaseName(inputs.version)}.tar.gz`);
      const deb = path.join(out, `dockhand_${debianVersion(inputs.version)}_amd64.deb`);
      produce(tarball, (p) => writeTarball(dir, p, inputs.sourceDateEpoch));
      produce(deb, (p) => writeDeb(inputs, dir, work, p));
      process.stdout.write(`${shown(tarball)}  ${mb(tarball)}\n${shown(deb)}  ${mb(deb)}\n`);
    }
    process.stdout.write(`on Node.js ${first.nodeVersion}, ${first.packages.length} production packages, in ${((Date.now() - started) / 1000).toFixed(0)} s\n`);
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}

try {
  main();
} catch (err) {
  process.stderr.write(`npm run package: ${err instanceof ReleaseError ? err.message : err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
  process.exitCode = 1;
}
