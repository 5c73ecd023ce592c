/**
 * Debian 12 images made here, since no registry is reachable: mmdebstrap builds a minbase
 * bookworm root file system from Debian's mirror and `docker import` turns it into an image.
 *
 * - `minbase`: close to `debian:bookworm-slim` (the image's base, and the "fresh host" the .deb
 *   is installed on without systemd);
 * - `systemd`: minbase + systemd as PID 1 (a host where `systemctl` and the maintainer
 *   scripts' start/restart work), with python3 and python3-apt so Ansible can manage it (its
 *   apt module needs python3-apt).
 *
 * The root file systems are cached under .tmp/cache/ (keyed by the mmdebstrap arguments, rebuilt
 * after a week so they do not drift far from the mirror); the import happens once per engine.
 */
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, statSync } from 'node:fs';
import { rename, rm } from 'node:fs/promises';
import path from 'node:path';
import { buildOnce } from './build-once.ts';
import { docker } from './docker-engine.ts';
import { CACHE } from './release.ts';

export type DebianFlavour = 'minbase' | 'systemd';

const MAX_AGE_MS = 7 * 24 * 3600_000;
/** As debian:bookworm-slim does: no manuals, translations or documentation but the copyright files. */
const SLIM = ['man', 'info', 'locale', 'doc'].map((d) => `--dpkgopt=path-exclude=/usr/share/${d}/*`)
  .concat(['--dpkgopt=path-include=/usr/share/doc/*/copyright', '--dpkgopt=path-include=/usr/share/locale/locale.alias']);
const ARGS: Record<DebianFlavour, string[]> = {
  minbase: ['--variant=minbase', ...SLIM, 'bookworm'],
  systemd: ['--variant=minbase', '--include=systemd,systemd-sysv,dbus,python3,python3-apt', ...SLIM, 'bookworm'],
};

export function debianImage(flavour: DebianFlavour): string {
  return `dockhand-test/debian:bookworm-${flavour}`;
}

function mmdebstrap(args: string[], out: string): Promise<void> {
  return new Promise((resolve, reject) => {
    // niced, as the release build (release.ts): it runs beside the integration tests
    const child = spawn('nice', ['-n', '19', 'mmdebstrap', '--quiet', '--format=tar', ...args, out], { stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    child.stdout.on('data', (b: Buffer) => (output += b.toString()));
    child.stderr.on('data', (b: Buffer) => (output += b.toString()));
    child.on('error', (e) => reject(new Error(`mmdebstrap: ${e.message} (Debian: apt-get install mmdebstrap)`)));
    child.on('close', (code) => (code === 0 ? resolve() : reject(new Error(`mmdebstrap ${args.join(' ')} exited with ${code}:\n${output.slice(-4000)}`))));
  });
}

const rootfsBuilds = new Map<DebianFlavour, Promise<string>>();

async function buildRootfs(flavour: DebianFlavour): Promise<string> {
  const key = createHash('sha256').update(ARGS[flavour].join(' ')).digest('hex').slice(0, 12);
  const tar = path.join(CACHE, `rootfs-${flavour}-${key}.tar`);
  const fresh = (): boolean => existsSync(tar) && statSync(tar).isFile() && Date.now() - statSync(tar).mtimeMs < MAX_AGE_MS;
  await buildOnce(tar, fresh, async () => {
    const partial = `${tar.slice(0, -'.tar'.length)}.partial-${process.pid}.tar`;
    try {
      await mmdebstrap(ARGS[flavour], partial);
      await rename(partial, tar);
    } finally {
      await rm(partial, { force: true });
    }
  });
  return tar;
}

/** The cached root file system tarball of `flavour`, built when missing or older than a week. */
export function ensureRootfs(flavour: DebianFlavour): Promise<string> {
  let build = rootfsBuilds.get(flavour);
  if (!build) {
    build = buildRootfs(flavour).catch((err: unknown) => {
      rootfsBuilds.delete(flavour);
      throw err;
    });
    rootfsBuilds.set(flavour, build);
  }
  return build;
}

/** `dockhand-test/debian:bookworm-<flavour>` on the engine at `host`, imported unless it is there. */
export async function ensureDebianImage(host: string, flavour: DebianFlavour): Promise<string> {
  const image = debianImage(flavour);
  const present = await docker(host, ['image', 'inspect', '--format', '{{.Id}}', image], { allowFail: true });
  if (present.code === 0) return image;
  const tar = await ensureRootfs(flavour);
  await docker(host, ['import', '--message', `mmdebstrap ${ARGS[flavour].join(' ')}`, tar, image], { timeoutMs: 300_000 });
  return image;
}
