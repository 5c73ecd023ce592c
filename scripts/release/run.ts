// Runs the tools a release is made with (tsc, strip, tar, dpkg-deb …), failing with their stderr.
import { spawnSync } from 'node:child_process';
import type { SpawnSyncOptions } from 'node:child_process';

export class ReleaseError extends Error {}

/** Runs `cmd` and returns its stdout; throws a ReleaseError naming the command and its stderr on failure. */
export function run(cmd: string, args: readonly string[], opts: SpawnSyncOptions = {}): string {
  const r = spawnSync(cmd, args, { encoding: 'utf8', maxBuffer: 64 * 1024 * 1024, ...opts });
  if (r.error) throw new ReleaseError(`${cmd}: ${r.error.message}`);
  if (r.status !== 0) {
    const stderr = String(r.stderr ?? '').trim();
    throw new ReleaseError(`${cmd} ${args.join(' ')} exited with ${r.status ?? r.signal}${stderr ? `:\n${stderr}` : ''}`);
  }
  return String(r.stdout ?? '');
}

/** True when `cmd` is on the PATH. */
export function have(cmd: string): boolean {
  return spawnSync('sh', ['-c', `command -v ${cmd}`], { stdio: 'ignore' }).status === 0;
}
