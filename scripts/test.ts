// Whole-suite test runner behind `npm test`: obtains Docker engines (an existing one, else private
// dockerds it owns, one per lane: two files run at once on 2 or more cores, each on a daemon of its
// own), builds the test image on each, then runs node's test runner over the unit and integration
// files with DOCKHAND_TEST_DOCKER_HOST(S) set. The private dockerds are always torn down, also on
// SIGINT/SIGTERM. Exit code is the test runner's.
//
//   node scripts/test.ts                          all of test/unit, test/integration and test/release
//   node scripts/test.ts test/unit/foo.test.ts    only these files (dirs and globs work too)
//   node scripts/test.ts --test-name-pattern=x    arguments starting with -- go to node
import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { glob, mkdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { availableParallelism } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { ensureTestImage, findDockerd, pingDocker, reapOrphanedDockerds, startPrivateDockerd } from '../test/helpers/docker-engine.ts';
import type { PrivateDockerd } from '../test/helpers/docker-engine.ts';
import { ensureRootfs } from '../test/helpers/debian-images.ts';
import { ensureReleases } from '../test/helpers/release.ts';

const DEFAULT_PATTERNS = ['test/unit/**/*.test.ts', 'test/integration/**/*.test.ts', 'test/release/**/*.test.ts'];
// Integration tests restart daemons and wait on timeouts; a hung test must still end the run.
const TEST_TIMEOUT_MS = 300_000;
const FILE_TIMES = path.join('.tmp', 'test-file-times.txt');
const FILE_TIMES_REPORTER = './scripts/file-times-reporter.ts';
// How many of the slowest files to print after a run that took more than a minute.
const SLOWEST_SHOWN = 12;
const SIGNAL_NUMBERS: Record<string, number> = { SIGINT: 2, SIGTERM: 15 };

interface Engine { host: string; owned?: PrivateDockerd }

/**
 * fs.inotify.max_user_instances counts every root process on the machine, containers included
 * (one per Node process, several per systemd and dockerd). With two lanes the suite's daemons,
 * agents and systemd hosts reached Debian's default of 128: an agent's directory watch was
 * refused (EMFILE, test/integration/log-discovery.test.ts says so) and it fell back to its
 * rescans, as it should — but the test of the watch failed. Raised for the run when we may.
 */
const INOTIFY_INSTANCES = 1024;
async function raiseInotifyInstances(): Promise<void> {
  const file = '/proc/sys/fs/inotify/max_user_instances';
  const now = Number.parseInt(await readFile(file, 'utf8').catch(() => ''), 10);
  if (!(now < INOTIFY_INSTANCES)) return;
  try {
    await writeFile(file, `${INOTIFY_INSTANCES}\n`);
    log(`fs.inotify.max_user_instances ${now} -> ${INOTIFY_INSTANCES} (the suite's processes share it)`);
  } catch (err) {
    log(`fs.inotify.max_user_instances is ${now} and could not be raised (${(err as NodeJS.ErrnoException).code ?? (err as Error).message}): with two lanes a directory watch may be refused`);
  }
}

const log = (line: string): void => { process.stdout.write(`[test] ${line}\n`); };

/**
 * How many test files run at once, each lane on its own private dockerd: most of a file's time is
 * spent waiting on a daemon (container starts, restarts, timeouts), so two lanes take ~half the
 * time on 2 cores. DOCKHAND_TEST_LANES overrides; an existing engine is one lane, because tests
 * compare the agent with the whole daemon (`docker ps -a`).
 */
function laneCount(): number {
  const asked = Number.parseInt(process.env.DOCKHAND_TEST_LANES ?? '', 10);
  if (asked >= 1) return asked;
  return Math.min(2, availableParallelism());
}

async function findEngines(lanes: number): Promise<Engine[]> {
  for (const name of ['DOCKHAND_TEST_DOCKER_HOST', 'DOCKER_HOST']) {
    const host = process.env[name];
    if (!host) continue;
    if (await pingDocker(host)) {
      log(`Docker engine: existing, ${host} (from ${name}); one lane`);
      return [{ host }];
    }
    log(`${name}=${host} does not answer /_ping; looking further`);
  }
  const systemHost = 'unix:///var/run/docker.sock';
  if (await pingDocker(systemHost)) {
    log(`Docker engine: existing, ${systemHost}; one lane`);
    return [{ host: systemHost }];
  }
  if (!(await findDockerd())) return [];
  const started = Date.now();
  const names = Array.from({ length: lanes }, (_, i) => (i === 0 ? 'suite' : `suite${i + 1}`));
  const settled = await Promise.allSettled(names.map((name) => startPrivateDockerd({ name })));
  const engines = settled.flatMap((r) => (r.status === 'fulfilled' ? [{ host: r.value.host, owned: r.value }] : []));
  const failed = settled.find((r): r is PromiseRejectedResult => r.status === 'rejected');
  if (failed) {
    await Promise.all(engines.map((e) => e.owned.cleanup()));
    throw failed.reason;
  }
  for (const e of engines) log(`Docker engine: own private dockerd, pid ${e.owned.pid}, storage ${e.owned.storageDriver}, ${e.host} (up in ${Date.now() - started} ms)`);
  if (engines.length > 1) log(`${engines.length} lanes: that many test files run at once, each on its own dockerd`);
  return engines;
}

// A test file killed by the runner (SIGINT/SIGTERM) skips its after hooks, so its private
// dockerd outlives it; reapOrphanedDockerds() only touches daemons whose owner is gone.
async function reapOrphans(when: string): Promise<void> {
  const reaped = await reapOrphanedDockerds();
  if (reaped > 0) log(`removed ${reaped} orphaned private dockerd(s) ${when}`);
}

/**
 * The tests under test/release/ share the release (N and N+1, one package run) and
 * two Debian root file systems (mmdebstrap). They are made here, in the background while the other
 * tests run (node's runner takes files in path order: test/integration/ comes first); a release
 * test that starts before they are done waits for them (test/helpers/build-once.ts). Cached on disk, so a later run reuses them. A failure is only
 * logged: the tests report it (or skip, outside CI).
 */
async function prepareReleaseFixtures(): Promise<void> {
  const started = Date.now();
  const timed = <T>(what: string, p: Promise<T>): Promise<void> => p.then(
    () => log(`${what}: ready after ${((Date.now() - started) / 1000).toFixed(0)} s`),
    (err: unknown) => log(`${what}: failed (the tests that need it will say why): ${(err as Error).message.split('\n')[0]}`),
  );
  await Promise.all([timed('releases N and N+1', ensureReleases()), timed('Debian minbase rootfs', ensureRootfs('minbase')), timed('Debian systemd rootfs', ensureRootfs('systemd'))]);
}

function isReleaseTest(file: string): boolean {
  return file.startsWith(path.join('test', 'release') + path.sep);
}

async function testFiles(patterns: string[]): Promise<string[]> {
  const files = new Set<string>();
  for (const pattern of patterns) {
    const info = await stat(pattern).catch(() => undefined);
    if (info?.isFile()) {
      files.add(path.normalize(pattern));
      continue;
    }
    const expanded = info?.isDirectory() ? path.join(pattern, '**/*.test.ts') : pattern;
    let matched = false;
    for await (const file of glob(expanded)) {
      files.add(path.normalize(file));
      matched = true;
    }
    if (!matched && patterns !== DEFAULT_PATTERNS) throw new Error(`no test files match ${pattern}`);
  }
  return [...files].sort();
}

function runTests(files: string[], nodeArgs: string[], engines: Engine[], onSpawn: (c: ChildProcess) => void): Promise<number> {
  const env = { ...process.env };
  delete env.DOCKHAND_TEST_DOCKER_HOSTS;
  if (engines[0]) env.DOCKHAND_TEST_DOCKER_HOST = engines[0].host;
  else delete env.DOCKHAND_TEST_DOCKER_HOST;
  // test/helpers/docker-engine.ts resolveTestDockerHost(): each file takes an engine no other running file holds
  if (engines.length > 1) env.DOCKHAND_TEST_DOCKER_HOSTS = engines.map((e) => e.host).join(',');
  // The default reporter on stdout, and the seconds each file took in FILE_TIMES (printed after).
  const reporters = nodeArgs.some((a) => a.startsWith('--test-reporter')) ? [] : ['--test-reporter=spec', '--test-reporter-destination=stdout', `--test-reporter=${FILE_TIMES_REPORTER}`, `--test-reporter-destination=${FILE_TIMES}`];
  const args = ['--test', `--test-concurrency=${Math.max(1, engines.length)}`, `--test-timeout=${TEST_TIMEOUT_MS}`, ...reporters, ...nodeArgs, ...files];
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, args, { stdio: 'inherit', env });
    onSpawn(child);
    child.on('error', reject);
    child.on('exit', (code, signal) => resolve(code ?? 128 + (SIGNAL_NUMBERS[signal ?? ''] ?? 1)));
  });
}

async function printSlowestFiles(): Promise<void> {
  const lines = (await readFile(FILE_TIMES, 'utf8').catch(() => '')).split('\n').filter(Boolean);
  const total = Number.parseFloat(lines[0] ?? '');
  if (!(total > 60)) return;
  log(`time per file: ${lines[0]} (all in ${FILE_TIMES})`);
  for (const line of lines.slice(1, 1 + SLOWEST_SHOWN)) log(line);
}

async function main(): Promise<number> {
  process.chdir(path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..'));
  const argv = process.argv.slice(2);
  const nodeArgs = argv.filter((a) => a.startsWith('--'));
  const patterns = argv.filter((a) => !a.startsWith('--'));

  let interrupted: NodeJS.Signals | undefined;
  let child: ChildProcess | undefined;
  const onSignal = (signal: NodeJS.Signals): void => {
    interrupted ??= signal;
    child?.kill(signal);
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);

  const files = await testFiles(patterns.length > 0 ? patterns : DEFAULT_PATTERNS);
  await reapOrphans('left by an earlier run');
  // unit tests are pure logic (docs/development.md, How tests run); `npm run test:unit` need not wait for a daemon
  const needsEngine = files.some((f) => !f.startsWith(`test${path.sep}unit${path.sep}`));
  if (needsEngine) await raiseInotifyInstances();
  let engines: Engine[] = [];
  try {
    try {
      if (needsEngine) engines = await findEngines(files.filter((f) => !f.startsWith(`test${path.sep}unit${path.sep}`)).length > 1 ? laneCount() : 1);
      else log('Docker engine: none needed (unit tests only)');
    } catch (err) {
      if (process.env.CI === 'true') throw err;
      log(`could not start a private dockerd: ${(err as Error).message}`);
    }
    if (engines.length === 0 && needsEngine) {
      if (process.env.CI === 'true') {
        log('ERROR: no Docker engine (no DOCKHAND_TEST_DOCKER_HOST/DOCKER_HOST or /var/run/docker.sock answering, and no private dockerd could be started); CI=true, so integration tests may not be skipped');
        return 1;
      }
      log('no Docker engine found: integration tests will be skipped');
    }
    if (interrupted) return 128 + (SIGNAL_NUMBERS[interrupted] ?? 1);
    await Promise.all(engines.map((e) => ensureTestImage(e.host)));
    const fixtures = files.some(isReleaseTest) ? prepareReleaseFixtures() : Promise.resolve();
    if (files.length === 0) {
      log('no test files found');
      return 0;
    }
    if (interrupted) return 128 + (SIGNAL_NUMBERS[interrupted] ?? 1);
    await mkdir(path.dirname(FILE_TIMES), { recursive: true });
    await rm(FILE_TIMES, { force: true });
    const code = await runTests(files, nodeArgs, engines, (c) => { child = c; });
    await printSlowestFiles();
    await fixtures;
    return code;
  } finally {
    await Promise.all(engines.flatMap((e) => (e.owned ? [e.owned.cleanup()] : [])));
    await reapOrphans('after the run');
  }
}

main().then(
  (code) => { process.exitCode = code; },
  (err: unknown) => {
    log(`ERROR: ${err instanceof Error ? err.stack ?? err.message : String(err)}`);
    process.exitCode = 1;
  },
);
