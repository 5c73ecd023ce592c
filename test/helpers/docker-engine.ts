// A real Docker engine for the test suite: a private dockerd that runs beside any other one,
// the busybox test image, and thin wrappers over the docker CLI.
//
// Quirks met on Debian's dockerd 20.10 / containerd 1.6 (cgroup v1, hybrid):
// - Letting dockerd supervise its own containerd is reliable side by side: it puts the
//   containerd socket, config and pid file under --exec-root, and shim sockets are hashed from
//   that address, so two daemons never share one.
// - dockerd bind-mounts --data-root onto itself (to fix mount propagation) and mounts overlays
//   and netns files under the dir; a killed daemon leaves them behind, hence unmountUnder().
// - On SIGTERM dockerd stops every container with its own stop timeout (10 s unless
//   `--stop-timeout`), and `sleep` as PID 1 ignores SIGTERM: give long-lived test containers
//   `--init` or `--stop-timeout 1`, or stop()/restart() waits those 10 s.
// - The cgroup driver stays the default (cgroupfs, parent "docker") so the agent's cgroup
//   readers see the same layout as on a production host.
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import type { ChildProcess } from 'node:child_process';
import { rmSync } from 'node:fs';
import { access, chmod, constants, copyFile, mkdir, mkdtemp, open, readFile, readdir, realpath, rm, symlink, writeFile } from 'node:fs/promises';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { TestContext } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { tryLock } from './build-once.ts';
import { missing } from './requirements.ts';

export const TEST_IMAGE = 'dockhand-test/busybox:1';
export const TEST_LABEL = 'dockhand.test=1';

const START_TIMEOUT_MS = 30_000;
// Covers dockerd's default 10 s container stop timeout plus its own 5 s grace.
const STOP_GRACE_MS = 20_000;
const KILL_WAIT_MS = 5_000;
const LOG_TAIL_LINES = 40;

export interface DockerResult { stdout: string; stderr: string; code: number }
export interface DockerOptions { input?: string | Buffer; allowFail?: boolean; timeoutMs?: number }

export interface PrivateDockerd {
  readonly host: string;
  readonly socketPath: string;
  readonly dir: string;
  readonly pid: number;
  readonly storageDriver: string;
  stop(): Promise<void>;
  restart(): Promise<void>;
  cleanup(): Promise<void>;
}

function runCommand(cmd: string, args: string[], opts: DockerOptions = {}): Promise<DockerResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { stdio: [opts.input === undefined ? 'ignore' : 'pipe', 'pipe', 'pipe'] });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    let timedOut = false;
    const timer = setTimeout(() => { timedOut = true; child.kill('SIGKILL'); }, opts.timeoutMs ?? 120_000);
    child.stdout?.on('data', (b: Buffer) => out.push(b));
    child.stderr?.on('data', (b: Buffer) => err.push(b));
    child.on('error', (e) => { clearTimeout(timer); reject(e); });
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      let stderr = Buffer.concat(err).toString();
      if (timedOut) stderr += `\n(killed after ${opts.timeoutMs ?? 120_000} ms)`;
      resolve({ stdout: Buffer.concat(out).toString(), stderr, code: code ?? (signal ? 128 : -1) });
    });
    if (opts.input !== undefined) child.stdin?.end(opts.input);
  });
}

/** Runs the docker CLI against `host` (or DOCKER_HOST when host is ''); throws on failure unless allowFail. */
export async function docker(host: string, args: string[], opts: DockerOptions = {}): Promise<DockerResult> {
  const res = await runCommand('docker', host ? ['-H', host, ...args] : args, opts);
  if (res.code !== 0 && !opts.allowFail) {
    throw new Error(`docker ${args.join(' ')} exited with ${res.code}: ${res.stderr.trim()}`);
  }
  return res;
}

/** True when the engine at `host` answers /_ping. Unix sockets are pinged directly; other
 *  schemes (tcp with TLS, ssh) go through the CLI, which knows their settings. */
export async function pingDocker(host: string, timeoutMs = 2_000): Promise<boolean> {
  if (!host.startsWith('unix://')) {
    const res = await docker(host, ['version', '--format', '{{.Server.Version}}'], { allowFail: true, timeoutMs });
    return res.code === 0;
  }
  return new Promise((resolve) => {
    const req = request({ socketPath: host.slice('unix://'.length), path: '/_ping', timeout: timeoutMs }, (res) => {
      res.resume();
      resolve(res.statusCode === 200);
    });
    req.on('timeout', () => req.destroy());
    req.on('error', () => resolve(false));
    req.end();
  });
}

/** The dockerd binary, looked up in PATH and the sbin dirs a non-root PATH often lacks. */
export async function findDockerd(): Promise<string | undefined> {
  const dirs = [...(process.env.PATH ?? '').split(path.delimiter), '/usr/sbin', '/usr/bin', '/sbin', '/usr/local/bin'];
  for (const dir of dirs.filter(Boolean)) {
    const candidate = path.join(dir, 'dockerd');
    try {
      await access(candidate, constants.X_OK);
      return candidate;
    } catch { /* try the next dir */ }
  }
  return undefined;
}

let claimedEngine: Promise<string | undefined> | undefined;

/**
 * The engine this test process uses. scripts/test.ts runs test files in lanes, a private dockerd
 * each, and names them all in DOCKHAND_TEST_DOCKER_HOSTS: a file takes one no other running file
 * holds (a lock directory with its pid, given back at exit, taken over when its owner died), so
 * each file has a daemon to itself — tests that compare the agent with `docker ps -a` see only
 * their own containers. Processes it starts inherit that one engine.
 */
export function resolveTestDockerHost(): Promise<string | undefined> {
  claimedEngine ??= claimEngine();
  return claimedEngine;
}

async function claimEngine(): Promise<string | undefined> {
  const hosts = (process.env.DOCKHAND_TEST_DOCKER_HOSTS ?? '').split(',').filter(Boolean);
  if (hosts.length < 2) return process.env.DOCKHAND_TEST_DOCKER_HOST || undefined;
  for (;;) {
    for (const host of hosts) {
      const lock = path.join(tmpdir(), `dockhand-test-engine-${createHash('sha256').update(host).digest('hex').slice(0, 16)}.claim`);
      if (!(await tryLock(lock))) continue;
      process.once('exit', () => rmSync(lock, { recursive: true, force: true }));
      process.env.DOCKHAND_TEST_DOCKER_HOST = host;
      delete process.env.DOCKHAND_TEST_DOCKER_HOSTS;
      return host;
    }
    // more files run at once than there are engines: wait for one to finish
    await sleep(250);
  }
}

/**
 * For integration tests. Returns the engine the orchestrator (scripts/test.ts) provides. Without
 * one it throws when CI=true (a missing engine must fail CI, never skip it), else marks the test
 * skipped and returns '' — callers must then return at once: `if (!host) return;`.
 */
export async function requireDocker(t: TestContext | undefined): Promise<string> {
  const host = await resolveTestDockerHost();
  if (host) return host;
  missing(t, 'no Docker engine: DOCKHAND_TEST_DOCKER_HOST is unset (run through `npm test` or scripts/test.ts)');
  return '';
}

/** Force-removes the containers carrying `labelFilter` (default dockhand.test=1); returns how many. */
export async function removeAllContainers(host: string, labelFilter = TEST_LABEL): Promise<number> {
  const { stdout } = await docker(host, ['ps', '-aq', '--filter', `label=${labelFilter}`]);
  const ids = stdout.split('\n').filter(Boolean);
  if (ids.length > 0) await docker(host, ['rm', '-f', '-v', ...ids], { allowFail: true });
  return ids.length;
}

// dockerd's info-level gRPC chatter buries the one line that says why it died
async function logTail(file: string): Promise<string> {
  const lines = (await readFile(file, 'utf8').catch(() => '')).trimEnd().split('\n').slice(-200);
  const telling = lines.filter((l) => !/level=(info|debug)/.test(l));
  return (telling.length > 0 ? telling : lines).slice(-LOG_TAIL_LINES).join('\n');
}

/** Lazily unmounts everything mounted at or below `dir`, deepest first, so the tree can be removed. */
async function unmountUnder(dir: string): Promise<void> {
  const info = await readFile('/proc/self/mountinfo', 'utf8');
  const points = info.split('\n')
    .map((line) => line.split(' ')[4])
    .filter((p): p is string => p !== undefined)
    // mountinfo escapes space, tab, newline and backslash as octal
    .map((p) => p.replace(/\\([0-7]{3})/g, (_m, oct: string) => String.fromCharCode(parseInt(oct, 8))))
    .filter((p) => p === dir || p.startsWith(`${dir}/`))
    .sort((a, b) => b.length - a.length);
  for (const point of points) await runCommand('umount', ['-l', point]).catch(() => undefined);
}

/** Fields of /proc/<pid>/stat after the command name, which may itself hold spaces. */
async function procStat(pid: number): Promise<string[] | undefined> {
  const stat = await readFile(`/proc/${pid}/stat`, 'utf8').catch(() => undefined);
  return stat?.slice(stat.lastIndexOf(')') + 2).split(' ');
}

/** For processes that are not our children: init reaps them, so they vanish or turn zombie. */
async function waitGone(pid: number, ms: number): Promise<boolean> {
  for (const deadline = Date.now() + ms; Date.now() < deadline; await sleep(100)) {
    const fields = await procStat(pid);
    if (!fields || fields[0] === 'Z') return true;
  }
  return false;
}

function killQuietly(pid: number, signal: NodeJS.Signals): void {
  try { process.kill(pid, signal); } catch { /* already gone */ }
}

// After a clean shutdown nothing is left; after a SIGKILL the daemon's containerd, shims and
// container processes may be, and they would keep the mounts under the dir busy.
async function killLeftovers(dir: string): Promise<void> {
  for (const entry of await readdir('/proc').catch(() => [])) {
    if (!/^\d+$/.test(entry)) continue;
    const cmdline = await readFile(`/proc/${entry}/cmdline`, 'utf8').catch(() => '');
    const argv0 = path.basename(cmdline.split('\0')[0] ?? '');
    if (/^(dockerd|containerd)/.test(argv0) && cmdline.includes(`${dir}/`)) killQuietly(Number(entry), 'SIGKILL');
  }
  for (const id of await readdir(path.join(dir, 'data', 'containers')).catch(() => [])) {
    for (const cg of [`pids/docker/${id}`, `memory/docker/${id}`, `docker/${id}`, `system.slice/docker-${id}.scope`]) {
      const procs = await readFile(`/sys/fs/cgroup/${cg}/cgroup.procs`, 'utf8').catch(() => '');
      for (const pid of procs.split('\n').filter(Boolean)) killQuietly(Number(pid), 'SIGKILL');
    }
  }
}

async function removeDir(dir: string): Promise<void> {
  await unmountUnder(dir);
  await rm(dir, { recursive: true, force: true, maxRetries: 3 });
}

const DIR_PREFIX = 'dockhand-dockerd-';
const OWNER_FILE = 'owner';

/**
 * Stops and removes the private dockerds whose owning process died without cleanup() — a test
 * file the runner killed on SIGTERM/SIGINT skips its after hooks. A daemon is left alone while
 * its owner (pid + start time, so a reused pid does not count) lives. Returns how many it reaped.
 */
export async function reapOrphanedDockerds(): Promise<number> {
  let reaped = 0;
  for (const entry of await readdir(tmpdir()).catch(() => [])) {
    if (!entry.startsWith(DIR_PREFIX)) continue;
    const dir = path.join(await realpath(tmpdir()), entry);
    const [ownerPid, ownerStart] = (await readFile(path.join(dir, OWNER_FILE), 'utf8').catch(() => '')).trim().split(' ');
    // no owner file: still being created, or not made by this helper
    if (!ownerPid || !ownerStart) continue;
    if ((await procStat(Number(ownerPid)))?.[19] === ownerStart) continue;
    const pid = Number.parseInt(await readFile(path.join(dir, 'dockerd.pid'), 'utf8').catch(() => ''), 10);
    const cmdline = pid > 0 ? await readFile(`/proc/${pid}/cmdline`, 'utf8').catch(() => '') : '';
    // nothing of an orphan is worth a graceful stop (10 s per `sleep` container); the forced
    // path below takes down its containerd, shims and containers too
    if (cmdline.includes(`${dir}/`)) {
      killQuietly(pid, 'SIGKILL');
      await waitGone(pid, KILL_WAIT_MS);
    }
    await killLeftovers(dir);
    await removeDir(dir);
    reaped++;
  }
  return reaped;
}

class PrivateDockerdProcess implements PrivateDockerd {
  readonly dir: string;
  readonly socketPath: string;
  readonly host: string;
  #dockerdPath: string;
  #extraArgs: readonly string[];
  #driver = '';
  #child: ChildProcess | undefined;
  #alive = false;
  #exited: Promise<void> = Promise.resolve();
  #exitNote = '';

  constructor(dir: string, dockerdPath: string, extraArgs: readonly string[]) {
    this.dir = dir;
    this.#dockerdPath = dockerdPath;
    this.#extraArgs = extraArgs;
    this.socketPath = path.join(dir, 'docker.sock');
    this.host = `unix://${this.socketPath}`;
  }

  get pid(): number { return this.#child?.pid ?? -1; }
  get storageDriver(): string { return this.#driver; }
  get #logPath(): string { return path.join(this.dir, 'dockerd.log'); }

  /** Starts dockerd and waits for /_ping; `exitedEarly` on the error tells a driver problem from a hang. */
  async start(driver: string): Promise<void> {
    this.#driver = driver;
    const args = [
      '--config-file', path.join(this.dir, 'daemon.json'),
      '--data-root', path.join(this.dir, 'data'),
      '--exec-root', path.join(this.dir, 'exec'),
      '--pidfile', path.join(this.dir, 'dockerd.pid'),
      '-H', this.host,
      '--storage-driver', driver,
      // no networking of its own: tests use --network host|none, and the host's
      // iptables and sysctls stay untouched
      '--bridge=none', '--iptables=false', '--ip6tables=false', '--ip-forward=false', '--ip-masq=false',
      '--userland-proxy=false',
      ...this.#extraArgs,
    ];
    const log = await open(this.#logPath, 'a');
    let child: ChildProcess;
    try {
      await log.write(`--- ${new Date().toISOString()} dockerd ${args.join(' ')}\n`);
      // detached: a Ctrl-C in the terminal reaches the test runner, not the daemon; we stop it
      // ourselves. TMPDIR: containerd drops containerd.<pid>.stacks.log there when its dockerd
      // dies during startup (seen with overlay2 on overlayfs); keep that inside our dir.
      child = spawn(this.#dockerdPath, args, {
        detached: true,
        stdio: ['ignore', log.fd, log.fd],
        env: { ...process.env, TMPDIR: this.dir },
      });
    } finally {
      await log.close();
    }
    child.unref();
    this.#child = child;
    this.#alive = true;
    this.#exitNote = '';
    this.#exited = new Promise((resolve) => {
      const gone = (note: string): void => { this.#alive = false; this.#exitNote = note; resolve(); };
      child.once('exit', (code, signal) => gone(`exited with ${signal ?? code}`));
      child.once('error', (e) => gone(`failed to spawn: ${e.message}`));
    });

    const deadline = Date.now() + START_TIMEOUT_MS;
    while (Date.now() < deadline) {
      if (!this.#alive) break;
      if (await pingDocker(this.host, 1_000)) return;
      await sleep(100);
    }
    const exitedEarly = !this.#alive;
    const reason = exitedEarly ? this.#exitNote : `did not answer /_ping within ${START_TIMEOUT_MS} ms`;
    const err = new Error(`private dockerd in ${this.dir} (storage driver ${driver}) ${reason}; its log says:\n${await logTail(this.#logPath)}`);
    throw Object.assign(err, { exitedEarly });
  }

  async stop(): Promise<void> {
    const child = this.#child;
    if (child?.pid !== undefined && this.#alive) {
      killQuietly(child.pid, 'SIGTERM');
      if (!(await this.#waitExit(STOP_GRACE_MS))) {
        killQuietly(child.pid, 'SIGKILL');
        await this.#waitExit(KILL_WAIT_MS);
      }
    }
    await killLeftovers(this.dir);
  }

  async restart(): Promise<void> {
    await this.stop();
    await this.start(this.#driver);
  }

  async cleanup(): Promise<void> {
    if (this.#alive) {
      // nothing survives cleanup, so skip each container's stop timeout at shutdown
      const ps = await docker(this.host, ['ps', '-aq'], { allowFail: true, timeoutMs: 10_000 });
      const ids = ps.stdout.split('\n').filter(Boolean);
      if (ids.length > 0) await docker(this.host, ['rm', '-f', '-v', ...ids], { allowFail: true, timeoutMs: 30_000 });
    }
    await this.stop();
    await removeDir(this.dir);
  }

  /** Removes the data of a failed start so the next storage driver begins afresh. */
  async wipeData(): Promise<void> {
    await unmountUnder(this.dir);
    for (const sub of ['data', 'exec']) await rm(path.join(this.dir, sub), { recursive: true, force: true, maxRetries: 3 });
  }

  async #waitExit(ms: number): Promise<boolean> {
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<boolean>((resolve) => { timer = setTimeout(resolve, ms, false); });
    try {
      return await Promise.race([this.#exited.then(() => true), timeout]);
    } finally {
      clearTimeout(timer);
    }
  }
}

/**
 * Starts a dockerd with its own dir under os.tmpdir() (data root, exec root, socket, log), so it
 * can run beside the host's engine. Tries overlay2, then vfs when the daemon dies with overlay2
 * (e.g. when tmpdir is itself on overlayfs); DOCKHAND_TEST_STORAGE_DRIVER forces one. Needs root.
 * `extraArgs` are appended to dockerd's own (e.g. a `--tlsverify` TCP listener).
 */
export async function startPrivateDockerd(opts: { name?: string; extraArgs?: string[] } = {}): Promise<PrivateDockerd> {
  const dockerdPath = await findDockerd();
  if (!dockerdPath) throw new Error('dockerd is not installed (Debian: apt-get install docker.io)');
  const name = (opts.name ?? 'test').replace(/[^a-zA-Z0-9_-]/g, '-').slice(0, 20);
  const dir = await realpath(await mkdtemp(path.join(tmpdir(), `${DIR_PREFIX}${name}-`)));
  // lets reapOrphanedDockerds() tell a live owner from a dead one
  await writeFile(path.join(dir, OWNER_FILE), `${process.pid} ${(await procStat(process.pid))?.[19] ?? ''}\n`);
  // sun_path holds 108 bytes; containerd's socket under exec/ is the longest path we create
  if (path.join(dir, 'exec', 'containerd', 'containerd.sock').length > 100) {
    await rm(dir, { recursive: true, force: true });
    throw new Error(`tmpdir ${tmpdir()} is too long for unix socket paths; set TMPDIR=/tmp`);
  }
  // an empty config file, so a host /etc/docker/daemon.json (say with "hosts") cannot clash with ours
  await writeFile(path.join(dir, 'daemon.json'), '{}\n');
  const daemon = new PrivateDockerdProcess(dir, dockerdPath, opts.extraArgs ?? []);
  const forced = process.env.DOCKHAND_TEST_STORAGE_DRIVER;
  const drivers = forced ? [forced] : ['overlay2', 'vfs'];
  for (const [i, driver] of drivers.entries()) {
    try {
      await daemon.start(driver);
      return daemon;
    } catch (err) {
      await daemon.stop();
      const retry = i + 1 < drivers.length && (err as { exitedEarly?: boolean }).exitedEarly === true;
      if (!retry) {
        await daemon.cleanup();
        throw err;
      }
      await daemon.wipeData();
    }
  }
  throw new Error('unreachable: no storage driver tried');
}

async function imageExists(host: string): Promise<boolean> {
  const res = await docker(host, ['image', 'inspect', '--format', '{{.Id}}', TEST_IMAGE], { allowFail: true });
  return res.code === 0;
}

const PASSWD = 'root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/nonexistent:/bin/false\n';
const GROUP = 'root:x:0:\nnobody:x:65534:\n';

/** A rootfs of the host's static busybox with every applet linked where a distro puts it. */
async function writeRootfs(rootfs: string): Promise<void> {
  await mkdir(path.join(rootfs, 'bin'), { recursive: true });
  await copyFile('/bin/busybox', path.join(rootfs, 'bin', 'busybox'));
  await chmod(path.join(rootfs, 'bin', 'busybox'), 0o755);
  const list = await runCommand('/bin/busybox', ['--list-full']);
  if (list.code !== 0) throw new Error(`busybox --list-full failed: ${list.stderr}`);
  for (const applet of list.stdout.split('\n').filter(Boolean)) {
    if (applet === 'bin/busybox') continue;
    await mkdir(path.join(rootfs, path.dirname(applet)), { recursive: true });
    await symlink('/bin/busybox', path.join(rootfs, applet)).catch((e: NodeJS.ErrnoException) => {
      if (e.code !== 'EEXIST') throw e;
    });
  }
  for (const d of ['etc', 'root', 'tmp', 'var/www', 'var/log', 'proc', 'sys', 'dev']) {
    await mkdir(path.join(rootfs, d), { recursive: true });
  }
  await chmod(path.join(rootfs, 'tmp'), 0o1777);
  await chmod(path.join(rootfs, 'root'), 0o700);
  await writeFile(path.join(rootfs, 'etc', 'passwd'), PASSWD);
  await writeFile(path.join(rootfs, 'etc', 'group'), GROUP);
  // docker bind-mounts these three over the image's; they exist so the mount points do
  await writeFile(path.join(rootfs, 'etc', 'hostname'), 'dockhand-test\n');
  await writeFile(path.join(rootfs, 'etc', 'hosts'), '127.0.0.1 localhost\n');
  await writeFile(path.join(rootfs, 'etc', 'resolv.conf'), '');
  await writeFile(path.join(rootfs, 'var', 'www', 'index.html'), 'dockhand-test\n');
}

async function buildTestImage(host: string): Promise<string> {
  if (await imageExists(host)) return TEST_IMAGE;
  const work = await mkdtemp(path.join(tmpdir(), 'dockhand-image-'));
  try {
    const rootfs = path.join(work, 'rootfs');
    const tarball = path.join(work, 'rootfs.tar');
    await writeRootfs(rootfs);
    const tar = await runCommand('tar', ['--numeric-owner', '--owner=0', '--group=0', '-C', rootfs, '-cf', tarball, '.']);
    if (tar.code !== 0) throw new Error(`tar failed: ${tar.stderr}`);
    await docker(host, ['import', '--change', 'CMD ["sh"]', '--message', 'dockhand test image (static busybox)', tarball, TEST_IMAGE]);
  } catch (err) {
    // another test process importing at the same time serves us just as well
    if (await imageExists(host)) return TEST_IMAGE;
    throw err;
  } finally {
    await rm(work, { recursive: true, force: true });
  }
  return TEST_IMAGE;
}

const imageBuilds = new Map<string, Promise<string>>();

/**
 * Builds `dockhand-test/busybox:1` on `host` unless it is there. Idempotent; concurrent calls in
 * one process share a build, and two processes importing at once both end with the tag present
 * (the later import just moves it to an identical image).
 */
export function ensureTestImage(host: string): Promise<string> {
  let build = imageBuilds.get(host);
  if (!build) {
    build = buildTestImage(host).catch((err: unknown) => {
      imageBuilds.delete(host);
      throw err;
    });
    imageBuilds.set(host, build);
  }
  return build;
}
