/**
 * What a test needs from the machine (a Docker engine, root, promtool, systemd-analyze, a tmpfs
 * mount). Where it is missing, a developer's run skips the test and says why; under `CI=true`
 * (.ci/run installs everything the suite needs) it is a failure: a CI run that silently skipped
 * its integration tests would pass without testing anything.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import type { TestContext } from 'node:test';

export function missing(t: TestContext | undefined, why: string): void {
  if (process.env.CI === 'true') throw new Error(`${why}; CI=true, so this is a failure, not a skip`);
  t?.skip(why);
}

/** True when every command is on the PATH; otherwise fails (CI) or skips `t`, naming what to install. */
export function requireCommands(t: TestContext | undefined, commands: readonly [command: string, debianPackage: string][]): boolean {
  const path = (process.env.PATH ?? '').split(':').filter(Boolean);
  const absent = commands.filter(([cmd]) => !path.some((dir) => existsSync(join(dir, cmd))));
  if (absent.length === 0) return true;
  missing(t, `${absent.map(([cmd]) => cmd).join(', ')} not installed (Debian: apt-get install ${[...new Set(absent.map(([, pkg]) => pkg))].join(' ')})`);
  return false;
}
