/**
 * The container image as docs/operations.md builds and runs it, for the image test and
 * bench/release.ts: the repository's Dockerfile built with a context holding only what
 * .dockerignore lets in (the release tarball), and the documented `docker run` line with a test's
 * paths, user, image and name.
 */
import assert from 'node:assert/strict';
import { copyFileSync, linkSync, mkdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { TEST_LABEL, docker } from './docker-engine.ts';
import { REPO } from './release.ts';
import type { Release } from './release.ts';

/** The user the run line's `--user "$(id -u dockhand):$(id -g dockhand)"` stands for on a test "host". */
export const HOST_DOCKHAND_ID = 4242;

/** Builds the repository's Dockerfile with a context holding just what .dockerignore lets in: the tarball. */
export async function buildImage(engine: string, base: string, release: Release, work: string): Promise<string> {
  const context = path.join(work, 'context');
  mkdirSync(path.join(context, 'release'), { recursive: true });
  for (const f of ['Dockerfile', '.dockerignore']) copyFileSync(path.join(REPO, f), path.join(context, f));
  const tarball = path.join(context, 'release', path.basename(release.tarball));
  try { linkSync(release.tarball, tarball); } catch { copyFileSync(release.tarball, tarball); }
  const image = `dockhand-test/dockhand:${release.version}`;
  // --network none: the build needs nothing from outside (and this engine has no bridge)
  await docker(engine, ['build', '--network', 'none', '-t', image, '--build-arg', `BASE_IMAGE=${base}`,
    '--build-arg', `VERSION=${release.version}`, '--build-arg', 'REVISION=test', context], { timeoutMs: 300_000 });
  return image;
}

/** The `docker run` line of docs/operations.md, (b) As a container, as argv. */
function documentedRunLine(): string[] {
  const doc = readFileSync(path.join(REPO, 'docs', 'operations.md'), 'utf8');
  const block = /```sh\n(docker run -d [\s\S]*?)```/.exec(doc.slice(doc.indexOf('## (b) As a container')))?.[1];
  assert.ok(block, 'no ```sh block starting with `docker run -d` under "## (b) As a container" in docs/operations.md');
  return [...block.replace(/\\\n/g, ' ').matchAll(/"[^"]*"|\S+/g)].map((m) => m[0]);
}

export interface RunPaths { name: string; image: string; socket: string; socketGid: number; logs: string; state: string; etc: string; env: string[] }

/** The documented line with this test's paths, user, image and name, and every substitution checked to apply. */
export function runLine(p: RunPaths): string[] {
  const tokens = documentedRunLine();
  const volumes: Record<string, string> = { '/var/run/docker.sock': p.socket, '/data/application/logs': p.logs, '/var/lib/dockhand': p.state, '/etc/dockhand': p.etc, '/sys/fs/cgroup': '/sys/fs/cgroup' };
  const values: Record<string, string> = {
    '"$(id -u dockhand):$(id -g dockhand)"': `${HOST_DOCKHAND_ID}:${HOST_DOCKHAND_ID}`,
    '"$(stat -c %g /var/run/docker.sock)"': String(p.socketGid),
  };
  const used = new Set<string>();
  const args = tokens.slice(2).map((tok, i, all) => {
    const prev = all[i - 1];
    if (prev === '--name') return p.name;
    if (prev === '-v') {
      const [from, ...rest] = tok.split(':');
      const to = volumes[from ?? ''];
      assert.ok(to, `the documented run line mounts ${from}, which this test does not know: update the test`);
      used.add(from ?? '');
      return [to, ...rest].join(':');
    }
    if (tok in values) {
      used.add(tok);
      return values[tok] as string;
    }
    return tok;
  });
  assert.deepEqual([...used].sort(), [...Object.keys(volumes), ...Object.keys(values)].sort(), 'every part of the documented line this test replaces is still there');
  assert.match(tokens.at(-1) ?? '', /dockhand:/, 'the image is the last word of the documented line');
  // the image's HEALTHCHECK must reach this test's port: -e HEALTHCHECK_URL, as documented
  return ['run', ...args.slice(0, -1), '--label', TEST_LABEL, ...p.env.flatMap((e) => ['-e', e]), p.image];
}

