/**
 * The release artefacts for the tests under test/release/: release N (this
 * checkout's version) and N+1 (the next patch version, for the upgrade tests), both made by one
 * `scripts/package.ts` run — the command behind `npm run package` — from the same build.
 *
 * Cached under .tmp/cache/release-<key>/, the key a hash of everything that goes into a release
 * (src/, packaging/, systemd/, stubs/, the package scripts, package.json, the lockfile, the
 * Node.js runtime), so a suite run builds them once and later runs reuse them until an input
 * changes; one process builds, others wait (build-once.ts). release/ (what `npm run package`
 * writes) is left alone.
 */
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, readdirSync, readFileSync, realpathSync, statSync } from 'node:fs';
import { rename, rm } from 'node:fs/promises';
import path from 'node:path';
import { buildOnce } from './build-once.ts';

export const REPO = path.resolve(import.meta.dirname, '..', '..');
export const CACHE = path.join(REPO, '.tmp', 'cache');
/** What a release is made from (files and directories under the repository). */
const INPUTS = ['src', 'packaging', 'systemd', 'stubs', 'scripts/package.ts', 'scripts/package.sh', 'scripts/release', 'package.json', 'package-lock.json', 'tsconfig.json', 'tsconfig.build.json'];

export interface Release {
  version: string;
  /** The unpacked-tree name and the tarball's top directory: dockhand-<version>-linux-x64. */
  name: string;
  tarball: string;
  deb: string;
}

export interface Releases {
  dir: string;
  current: Release;
  next: Release;
}

function files(p: string): string[] {
  if (!existsSync(p)) return [];
  if (!statSync(p).isDirectory()) return [p];
  return readdirSync(p).sort().flatMap((e) => files(path.join(p, e)));
}

function inputKey(): string {
  const hash = createHash('sha256');
  for (const input of INPUTS) {
    for (const file of files(path.join(REPO, input))) hash.update(path.relative(REPO, file)).update('\0').update(readFileSync(file)).update('\0');
  }
  const node = path.join(REPO, 'node_modules', '.bin', 'node');
  if (existsSync(node)) hash.update(realpathSync(node)).update(String(statSync(node).size));
  return hash.digest('hex').slice(0, 16);
}

export function nextPatch(version: string): string {
  const [major, minor, patch] = version.split(/[.+-]/).map(Number);
  return `${major}.${minor}.${(patch ?? 0) + 1}`;
}

function release(dir: string, version: string): Release {
  const name = `dockhand-${version}-linux-x64`;
  return { version, name, tarball: path.join(dir, `${name}.tar.gz`), deb: path.join(dir, `dockhand_${version}_amd64.deb`) };
}

function packageRun(out: string, versions: string[]): Promise<void> {
  return new Promise((resolve, reject) => {
    const args = ['scripts/package.ts', '--out', out, ...versions.flatMap((v) => ['--version', v])];
    // niced: it runs beside the integration tests (scripts/test.ts), some of which judge event
    // timing; on an idle machine it costs nothing
    const child = spawn('nice', ['-n', '19', process.execPath, ...args], { cwd: REPO, stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    child.stdout.on('data', (b: Buffer) => (output += b.toString()));
    child.stderr.on('data', (b: Buffer) => (output += b.toString()));
    child.on('error', reject);
    child.on('close', (code) => (code === 0 ? resolve() : reject(new Error(`scripts/package.ts exited with ${code}:\n${output}`))));
  });
}

let building: Promise<Releases> | undefined;

async function build(): Promise<Releases> {
  const version = (JSON.parse(readFileSync(path.join(REPO, 'package.json'), 'utf8')) as { version: string }).version;
  const key = `release-${inputKey()}`;
  const dir = path.join(CACHE, key);
  const releases = { dir, current: release(dir, version), next: release(dir, nextPatch(version)) };
  const complete = (): boolean => [releases.current, releases.next].every((r) => existsSync(r.tarball) && existsSync(r.deb));
  await buildOnce(dir, complete, async () => {
    // releases of other inputs are stale: keep the cache to one
    for (const old of readdirSync(CACHE).filter((e) => e.startsWith('release-') && !e.startsWith(key))) await rm(path.join(CACHE, old), { recursive: true, force: true });
    const partial = `${dir}.partial-${process.pid}`;
    await rm(dir, { recursive: true, force: true });
    await packageRun(partial, [releases.current.version, releases.next.version]);
    await rename(partial, dir);
  });
  return releases;
}

/** Releases N and N+1, built once (per input state) and shared by every test that needs them. */
export function ensureReleases(): Promise<Releases> {
  building ??= build().catch((err: unknown) => {
    building = undefined;
    throw err;
  });
  return building;
}
