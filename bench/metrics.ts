// bench/metrics: with N running busybox containers (default 200), measures
//   1. one full sweep of the cgroup sampler (in process, repeated): CPU ms and wall ms;
//   2. the same figures through Docker's stats API, one-shot and default, for every container
//      (8 requests in flight): wall time, this process's CPU, and the CPU of dockerd,
//      containerd and the containers' shims (which do the work for the stats API);
//   3. the /metrics exposition of N containers (render CPU);
//   4. the built agent over a window (default 600 s) at metrics.interval 10s, scraped every
//      15 s like Prometheus would: its CPU as a share of one core, and RSS.
// Not a test: prints figures, asserts nothing.
//
//   npm run build && node bench/metrics.ts [--containers 200] [--agent-seconds 600] [--scrape-seconds 15] [--no-stats-api]
//
// Uses DOCKHAND_BENCH_DOCKER_HOST when set (then daemon-side CPU is not measured unless
// DOCKHAND_BENCH_DOCKER_DIR names the private dockerd's directory), else starts a private dockerd.
import { readFileSync, readdirSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import os, { tmpdir } from 'node:os';
import { join } from 'node:path';
import { benchArgs } from './args.ts';
import { pino } from 'pino';
import { RecentEvents } from '../src/docker/recent-events.ts';
import { createDockerClient } from '../src/docker/client.ts';
import { ContainerInventory } from '../src/docker/inventory.ts';
import { DockerWatcher } from '../src/docker/watcher.ts';
import { detectCgroupLayout } from '../src/metrics/cgroup/layout.ts';
import { ContainerExposition } from '../src/metrics/container-exposition.ts';
import { ContainerSampler } from '../src/metrics/container-sampler.ts';
import { ExpositionWriter } from '../src/metrics/exposition.ts';
import { ContainerLifecycleTracker } from '../src/metrics/lifecycle.ts';
import { AgentProcess, cleanEnv } from '../test/helpers/agent-process.ts';
import { docker, ensureTestImage, startPrivateDockerd } from '../test/helpers/docker-engine.ts';
import type { PrivateDockerd } from '../test/helpers/docker-engine.ts';
import { waitFor } from '../test/helpers/wait.ts';
import { CLK_TCK, measureWindow, procFigures, removeLabelledContainers } from './proc-figures.ts';

const { values } = benchArgs(import.meta.url, {
  options: {
    containers: { type: 'string', default: '200' },
    'agent-seconds': { type: 'string', default: '600' },
    'scrape-seconds': { type: 'string', default: '15' },
    rounds: { type: 'string', default: '20' },
    'stats-api': { type: 'boolean', default: true },
  },
  allowNegative: true,
});
const N = Number(values.containers);
const AGENT_S = Number(values['agent-seconds']);
const SCRAPE_S = Number(values['scrape-seconds']);
const ROUNDS = Number(values.rounds);
const LABEL = 'dockhand.bench=metrics';
const CONCURRENCY = 8;

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)] ?? NaN;
}

/** utime + stime (ticks) of every process whose command line mentions `needle` (dockerd, containerd, shims). */
function daemonTicks(needle: string | undefined): number {
  if (!needle) return NaN;
  let total = 0;
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      if (!readFileSync(`/proc/${entry}/cmdline`, 'utf8').includes(needle)) continue;
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      total += Number(f[11]) + Number(f[12]);
    } catch {
      // the process ended meanwhile
    }
  }
  return total;
}

let daemon: PrivateDockerd | undefined;
const host = process.env.DOCKHAND_BENCH_DOCKER_HOST ?? (daemon = await startPrivateDockerd({ name: 'bench-m' })).host;
const daemonDir = daemon?.dir ?? process.env.DOCKHAND_BENCH_DOCKER_DIR;
const dir = await mkdtemp(join(tmpdir(), 'dockhand-bench-'));
try {
  const image = await ensureTestImage(host);
  console.log(`engine ${host}; ${os.cpus().length} CPUs, load ${os.loadavg().map((l) => l.toFixed(2)).join(' ')}; creating ${N} running containers…`);
  const t0 = performance.now();
  let next = 0;
  await Promise.all(
    Array.from({ length: 8 }, async () => {
      while (next < N) {
        next++;
        await docker(host, ['run', '-d', '--init', '--label', LABEL, '--network', 'none', image, 'sleep', '36000']);
      }
    }),
  );
  console.log(`  created in ${((performance.now() - t0) / 1000).toFixed(1)} s`);

  const client = createDockerClient({ host, tls: null, allow_insecure: false, timeout: 60_000, reconnect_base: 500, reconnect_max: 1000, resync_interval: 0, events_buffer: 100 });
  const inventory = new ContainerInventory();
  const watcher = new DockerWatcher({ docker: client, inventory, events: new RecentEvents(100), logger: pino({ level: 'silent' }), reconnectBaseMs: 500, reconnectMaxMs: 1000, resyncIntervalMs: 0, callTimeoutMs: 60_000 });
  watcher.start();
  await waitFor('inventory', () => watcher.state === 'connected' && inventory.list().filter((r) => r.state === 'running').length >= N, 300_000, 50);
  const records = inventory.list().filter((r) => r.labels['dockhand.bench'] === 'metrics');

  // 1. the cgroup sampler
  const layout = detectCgroupLayout({ cgroupRoot: null, procRoot: '/proc' });
  console.log(`cgroups: ${layout.description}`);
  const sampler = new ContainerSampler({ layout, procRoot: '/proc', excludeInterfaces: [], docker: null, statsApiTimeoutMs: 10_000, hostMemoryBytes: os.totalmem(), logger: pino({ level: 'silent' }) });
  await sampler.sweep(records); // warm-up
  const sweeps: { cpu: number; wall: number; cpuAll: number }[] = [];
  for (let i = 0; i < ROUNDS; i++) {
    const c0 = process.cpuUsage();
    const r = await sampler.sweep(records);
    const c = process.cpuUsage(c0);
    if (r.sampled.cgroup !== records.length) throw new Error(`sampled ${r.sampled.cgroup} of ${records.length}`);
    sweeps.push({ cpu: r.cpuMs, wall: r.wallMs, cpuAll: (c.user + c.system) / 1000 });
    await new Promise((res) => setTimeout(res, 50));
  }
  const sweepCpu = median(sweeps.map((s) => s.cpuAll));
  console.log(`cgroup sweep of ${records.length} containers (${ROUNDS} rounds, median): ${sweepCpu.toFixed(1)} ms CPU (${median(sweeps.map((s) => s.cpu)).toFixed(1)} ms in file reads and parsing), ${median(sweeps.map((s) => s.wall)).toFixed(1)} ms wall; per container ${((sweepCpu / records.length) * 1000).toFixed(0)} µs; min ${Math.min(...sweeps.map((s) => s.cpuAll)).toFixed(1)} ms, max ${Math.max(...sweeps.map((s) => s.cpuAll)).toFixed(1)} ms CPU`);

  // 2. the Docker stats API, one-shot and default
  const apiRound = async (oneShot: boolean): Promise<{ wall: number; client: number; daemon: number }> => {
    const d0 = daemonTicks(daemonDir);
    const c0 = process.cpuUsage();
    const w0 = performance.now();
    let i = 0;
    await Promise.all(
      Array.from({ length: CONCURRENCY }, async () => {
        while (i < records.length) {
          const r = records[i++];
          if (!r) break;
          const opts = oneShot ? { stream: false, 'one-shot': true } : { stream: false };
          await client.getContainer(r.id).stats(opts as unknown as { stream: false });
        }
      }),
    );
    const c = process.cpuUsage(c0);
    return { wall: performance.now() - w0, client: (c.user + c.system) / 1000, daemon: ((daemonTicks(daemonDir) - d0) / CLK_TCK) * 1000 };
  };
  const apiResults: Record<string, { wall: number; client: number; daemon: number }> = {};
  for (const [label, oneShot, rounds] of values['stats-api'] ? ([['one-shot', true, 3], ['default', false, 2]] as const) : []) {
    const rs = [];
    for (let k = 0; k < rounds; k++) {
      rs.push(await apiRound(oneShot));
      await new Promise((res) => setTimeout(res, 3000)); // let dockerd's collector go idle between rounds
    }
    const r = { wall: median(rs.map((x) => x.wall)), client: median(rs.map((x) => x.client)), daemon: median(rs.map((x) => x.daemon)) };
    apiResults[label] = r;
    const total = r.client + (Number.isNaN(r.daemon) ? 0 : r.daemon);
    console.log(
      `stats API ${label} for ${records.length} containers (${CONCURRENCY} in flight, median of ${rounds}): ${r.wall.toFixed(0)} ms wall, ${r.client.toFixed(0)} ms client CPU + ${Number.isNaN(r.daemon) ? 'n/a' : r.daemon.toFixed(0)} ms dockerd/containerd/shim CPU = ${total.toFixed(0)} ms; ` +
        `the cgroup sweep is ${(total / sweepCpu).toFixed(0)}x cheaper in CPU and ${(r.wall / median(sweeps.map((s) => s.wall))).toFixed(0)}x faster`,
    );
  }

  // 3. exposition of N containers
  const lifecycle = new ContainerLifecycleTracker({ keepStoppedMs: 3_600_000 });
  lifecycle.update(records, (id) => sampler.latest(id), Date.now());
  const exposition = new ContainerExposition(['dockhand.bench']);
  const exported = lifecycle.list(Date.now()).map((l) => ({ lifecycle: l, sample: sampler.latest(l.id) }));
  const renders: number[] = [];
  let bytes = 0;
  for (let i = 0; i < ROUNDS; i++) {
    const c0 = process.cpuUsage();
    const w = new ExpositionWriter();
    exposition.render(w, exported);
    bytes = w.text().length;
    const c = process.cpuUsage(c0);
    renders.push((c.user + c.system) / 1000);
  }
  console.log(`exposition of ${exported.length} containers: ${(bytes / 1024).toFixed(0)} KiB, ${median(renders).toFixed(1)} ms CPU (median)`);
  await watcher.stop();

  // 4. the built agent over a window
  if (AGENT_S > 0) {
    const srv = createServer();
    await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
    const port = (srv.address() as { port: number }).port;
    await new Promise((r) => srv.close(r));
    const config = join(dir, 'dockhand.yaml');
    await writeFile(config, `log_level: warn\nstate_dir: ${dir}/state\ndocker:\n  host: ${host}\napi:\n  listen: 127.0.0.1:${port}\n  metrics_auth: false\nmetrics:\n  interval: 10s\nlogs:\n  roots: [${dir}/logs]\n`);
    const agent = new AgentProcess(['run', '--config', config], cleanEnv());
    try {
      // /readyz also checks the Logstash outputs, which this bench does not run: wait for Docker and metrics
      await waitFor(`agent connected (${agent.lines.at(-1)?.msg ?? ''})`, async () => {
        const body = (await (await fetch(`http://127.0.0.1:${port}/readyz`)).json()) as { checks: { name: string; ok: boolean }[] };
        return body.checks.filter((c) => c.name === 'docker' || c.name === 'metrics').every((c) => c.ok);
      }, 120_000, 500);
      await new Promise((r) => setTimeout(r, 5000)); // start-up work settles
      const pid = agent.child.pid as number;
      let scrapes = 0;
      let scrapeBytes = 0;
      let nextScrape = SCRAPE_S > 0 ? 0 : Infinity;
      const w = await measureWindow(pid, AGENT_S, async (elapsedS) => {
        if (elapsedS < nextScrape) return;
        scrapeBytes = (await (await fetch(`http://127.0.0.1:${port}/metrics`)).text()).length;
        scrapes++;
        nextScrape += SCRAPE_S;
      });
      const sweepsDone = /^dockhand_metrics_sweeps_total (\d+)/m.exec(await (await fetch(`http://127.0.0.1:${port}/metrics`)).text())?.[1];
      console.log(
        `agent over ${w.wallS.toFixed(0)} s with ${N} containers at metrics.interval 10s, ${scrapes} scrapes of ${(scrapeBytes / 1024).toFixed(0)} KiB (every ${SCRAPE_S} s): ` +
          `CPU ${((w.cpuS / w.wallS) * 100).toFixed(2)} % of a core (${(w.cpuS * 1000).toFixed(0)} ms) + ${((w.childCpuS / w.wallS) * 100).toFixed(2)} % in child processes (${(w.childCpuS * 1000).toFixed(0)} ms), ` +
          `${sweepsDone} sweeps since start, RSS now ${procFigures(pid).rssMb.toFixed(1)} MB, peak ${w.rssPeakMb.toFixed(1)} MB`,
      );
      agent.child.kill('SIGTERM');
      await agent.exited;
    } finally {
      await agent.dispose();
    }
  }
} finally {
  await removeLabelledContainers(host, LABEL);
  await daemon?.cleanup();
  await rm(dir, { recursive: true, force: true });
}
