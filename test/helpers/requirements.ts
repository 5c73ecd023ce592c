/**
 * What a test needs from the machine (a Docker engine, root, promtool, systemd-analyze, a tmpfs
 * mount). Where it is missing, a developer's run skips the test and says why; under `CI=true`
 * (.ci/run installs everything the suite needs) it is a failure: a CI run that silently skipped
 * its integration tests would pass without testing anything.
 */
import type { TestContext } from 'node:test';

export function missing(t: TestContext | undefined, why: string): void {
  if (process.env.CI === 'true') throw new Error(`${why}; CI=true, so this is a failure, not a skip`);
  t?.skip(why);
}
