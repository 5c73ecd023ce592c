// bench/release: the figures of the release (docs/operations.md, The release artefacts) — sizes
// of the tarball, the .deb and the image; time from start to /readyz 200 and idle RSS of the
// agent started four ways: `npm start` (and the `dist/main.js run` it ends in, without its build),
// the tarball's bin/dockhand, `systemctl start` of the .deb on a Debian 12 host with systemd as
// PID 1 (a container), and `docker run` of the image with the documented run line. Each against a
// real Docker engine and a Beats receiver, so /readyz can turn 200. Not a test: prints figures,
// asserts nothing.
//
//   node bench/release.ts [--runs 3] [--idle-seconds 20]
//
// Uses the release and Debian images the release tests use (test/helpers/release.ts and
// debian-images.ts; built when not cached), DOCKHAND_BENCH_DOCKER_HOST or a private dockerd.
import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { chmodSync, chownSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { benchArgs } from './args.ts';
import { BeatsReceiver } from '../test/helpers/beats-receiver.ts';
import { HOST_DOCKHAND_ID, buildImage, runLine } from '../test/helpers/container-image.ts';
import { DebianHost } from '../test/helpers/debian-host.ts';
import { ensureDebianImage } from '../test/helpers/debian-images.ts';
import { docker, startPrivateDockerd } from '../test/helpers/docker-engine.ts';
import type { PrivateDockerd } from '../test/helpers/docker-engine.ts';
import { freePort } from '../test/helpers/ports.ts';
import { REPO, ensureReleases } from '../test/helpers/release.ts';

const { values } = benchArgs(import.meta.url, { options: { runs: { type: 'string', default: '3' }, 'idle-seconds': { type: 'string', default: '20' } } });
const RUNS = Number(values.runs);
const IDLE_MS = Number(values['idle-seconds']) * 1000;

interface Sample { readyMs: number; rssMB: number; startedRssMB: number | undefined }
interface Variant {
  label: string;
  /** Starts the agent listening on `port`; resolves when the start command has been issued. */
  start(port: number): Promise<void>;
  stop(): Promise<void>;
  /** RSS of every process the start command left running (npm start: npm, sh and node), when known. */
  startedRss?(): number;
}

const mb = (bytes: number): string => (bytes / 1e6).toFixed(1);
const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] as number;

async function readyz(port: number): Promise<boolean> {
  try {
    return (await fetch(`http://127.0.0.1:${port}/readyz`)).status === 200;
  } catch {
    return false;
  }
}

async function measure(v: Variant): Promise<Sample> {
  const port = await freePort();
  const t0 = performance.now();
  await v.start(port);
  const deadline = Date.now() + 120_000;
  while (!(await readyz(port))) {
    if (Date.now() > deadline) throw new Error(`${v.label}: no /readyz 200 within 120 s`);
    await sleep(20);
  }
  const readyMs = performance.now() - t0;
  await sleep(IDLE_MS);
  const host = (await (await fetch(`http://127.0.0.1:${port}/v1/host`)).json()) as { agent: { rssBytes: number } };
  const started = v.startedRss?.();
  await v.stop();
  return { readyMs, rssMB: host.agent.rssBytes / 1e6, startedRssMB: started === undefined ? undefined : started / 1e6 };
}

/** Sum of VmRSS over the processes of process group `pgid`. */
function groupRss(pgid: number): number {
  let sum = 0;
  for (const pid of readdirSync('/proc').filter((e) => /^\d+$/.test(e))) {
    try {
      const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
      if (Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[2]) !== pgid) continue;
      sum += Number(/VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1] ?? 0) * 1024;
    } catch { /* gone */ }
  }
  return sum;
}

function config(dir: string, port: number, engine: string, receiver: string): string {
  const file = path.join(dir, `dockhand-${port}.yaml`);
  writeFileSync(file, `state_dir: ${dir}/state-${port}\ndocker: { host: "${engine}" }\napi: { listen: "127.0.0.1:${port}" }\nlogs: { roots: [${dir}/logs] }\noutputs: [{ type: beats, hosts: ["${receiver}"] }]\n`);
  return file;
}

/** A process variant: `argv` and its environment given the config file; stopped with SIGTERM. */
function processVariant(label: string, dir: string, engine: string, receiver: string, argv: (config: string) => string[], env: (config: string) => NodeJS.ProcessEnv = () => process.env): Variant {
  let child: ChildProcess | undefined;
  return {
    label,
    start: (port) => {
      const file = config(dir, port, engine, receiver);
      const [cmd = '', ...args] = argv(file);
      // detached: npm start is npm → sh → node; the whole group is stopped
      child = spawn(cmd, args, { cwd: REPO, env: env(file), stdio: 'ignore', detached: true });
      return Promise.resolve();
    },
    stop: async () => {
      const c = child;
      if (!c?.pid) return;
      const exited = new Promise((r) => c.once('exit', r));
      process.kill(-c.pid, 'SIGTERM');
      await exited;
    },
    startedRss: () => (child?.pid ? groupRss(child.pid) : 0),
  };
}

let daemon: PrivateDockerd | undefined;
const engine = process.env.DOCKHAND_BENCH_DOCKER_HOST ?? (daemon = await startPrivateDockerd({ name: 'bench-release' })).host;
const work = mkdtempSync(path.join(tmpdir(), 'dockhand-bench-release-'));
const receiver = await BeatsReceiver.start();
try {
  console.log('release, Debian images (cached, built when missing) …');
  const [releases, base] = await Promise.all([ensureReleases(), ensureDebianImage(engine, 'minbase'), ensureDebianImage(engine, 'systemd')]);
  const { current } = releases;
  const image = await buildImage(engine, base, current, work);
  const imageSize = Number((await docker(engine, ['image', 'inspect', '--format', '{{.Size}}', image])).stdout);
  const baseSize = Number((await docker(engine, ['image', 'inspect', '--format', '{{.Size}}', base])).stdout);
  console.log(`\n| artefact | size |\n| --- | --- |`);
  console.log(`| ${path.basename(current.tarball)} | ${mb(statSync(current.tarball).size)} MB |`);
  console.log(`| ${path.basename(current.deb)} | ${mb(statSync(current.deb).size)} MB |`);
  console.log(`| image (Debian 12 minbase base, no docs) | ${mb(imageSize)} MB = base ${mb(baseSize)} + dockhand ${mb(imageSize - baseSize)} MB |`);

  const dir = path.join(work, 'run');
  mkdirSync(path.join(dir, 'logs'), { recursive: true });
  await new Promise((resolve) => spawn('tar', ['-xzf', current.tarball, '-C', work], { stdio: 'inherit' }).on('exit', resolve));
  const launcher = path.join(work, current.name, 'bin', 'dockhand');
  const node = path.join(REPO, 'node_modules', '.bin', 'node');
  // npm start builds dist/ first; its process is npm → sh → node, configured through DOCKHAND_CONFIG
  const npmStart = processVariant('npm start (build, then run)', dir, engine, receiver.address, () => ['npm', 'start', '--silent'], (cfg) => ({ ...process.env, DOCKHAND_CONFIG: cfg }));

  // systemd: the .deb on a Debian 12 host container, started and stopped with systemctl
  const socket = engine.slice('unix://'.length);
  const sd = await DebianHost.start(engine, 'systemd', { mounts: [`${releases.dir}:/release:ro`, `${socket}:/var/run/docker.sock`] });
  await sd.sh(`groupadd --system --non-unique --gid ${statSync(socket).gid} docker && DEBIAN_FRONTEND=noninteractive apt-get install -y /release/${path.basename(current.deb)} >/dev/null 2>&1 && systemctl stop dockhand`);
  const systemd: Variant = {
    label: 'systemctl start (.deb, systemd as PID 1 in a container)',
    start: async (port) => {
      await sd.sh(`mkdir -p /etc/systemd/system/dockhand.service.d && printf '[Service]\\nEnvironment=DOCKHAND_API__LISTEN=127.0.0.1:${port}\\nEnvironment="DOCKHAND_OUTPUTS=[{type: beats, hosts: [${receiver.address}]}]"\\n' > /etc/systemd/system/dockhand.service.d/bench.conf && systemctl daemon-reload`);
      await sd.sh('systemctl start dockhand');
    },
    stop: async () => { await sd.sh('systemctl stop dockhand'); },
  };

  // docker run with the documented line
  const dockerRun: Variant = {
    label: 'docker run (image, documented run line)',
    start: async (port) => {
      const dirs = Object.fromEntries(['logs', 'state', 'etc'].map((d) => [d, path.join(work, `img-${port}`, d)])) as Record<'logs' | 'state' | 'etc', string>;
      for (const d of Object.values(dirs)) mkdirSync(d, { recursive: true });
      chmodSync(path.join(work, `img-${port}`), 0o755);
      chmodSync(work, 0o755);
      chownSync(dirs.state, HOST_DOCKHAND_ID, HOST_DOCKHAND_ID);
      writeFileSync(path.join(dirs.etc, 'dockhand.yaml'), `api: { listen: "127.0.0.1:${port}" }\noutputs: [{ type: beats, hosts: ["${receiver.address}"] }]\n`);
      await docker(engine, runLine({ name: `dockhand-bench-${port}`, image, socket, socketGid: statSync(socket).gid, ...dirs, env: [`HEALTHCHECK_URL=http://127.0.0.1:${port}/healthz`] }));
      dockerRun.stop = async () => { await docker(engine, ['rm', '-f', `dockhand-bench-${port}`]); };
    },
    stop: () => Promise.resolve(),
  };

  const variants: Variant[] = [
    npmStart,
    // what npm start runs once it has built: dist/main.js through its shebang, on node_modules/.bin/node
    processVariant('./dist/main.js run (npm start without its build)', dir, engine, receiver.address, (cfg) => ['./dist/main.js', 'run', '--config', cfg], () => ({ ...process.env, PATH: `${path.dirname(node)}:${process.env.PATH ?? ''}` })),
    processVariant('tarball bin/dockhand', dir, engine, receiver.address, (cfg) => [launcher, 'run', '--config', cfg]),
    systemd,
    dockerRun,
  ];
  console.log(`\nstart to /readyz 200, and the agent's RSS after ${IDLE_MS / 1000} s idle (and of all the start command left running), median of ${RUNS} runs:\n`);
  console.log('| started by | to /readyz 200 | agent idle RSS | all processes |\n| --- | --- | --- | --- |');
  for (const v of variants) {
    const samples: Sample[] = [];
    for (let i = 0; i < RUNS; i++) samples.push(await measure(v));
    const all = samples.map((s) => s.startedRssMB).filter((x): x is number => x !== undefined);
    console.log(`| ${v.label} | ${(median(samples.map((s) => s.readyMs)) / 1000).toFixed(2)} s | ${median(samples.map((s) => s.rssMB)).toFixed(1)} MB | ${all.length > 0 ? `${median(all).toFixed(1)} MB` : '—'} |`);
  }
  await sd.remove();
} finally {
  await receiver.close();
  rmSync(work, { recursive: true, force: true });
  await daemon?.cleanup();
}
