// bench/probes: N probe targets (default 500; half TCP, half HTTP) at a 10 s interval, the
// listeners in a helper process on 127.0.0.1. Two measurements:
//   1. in process: the health machinery alone (HealthMonitor: scheduler, probes, verdicts,
//      metrics) over N synthetic host-network containers — its CPU and RSS growth, nothing else;
//   2. the built agent with N real busybox containers (host networking, `sleep`), first without
//      probes, then with one probe per container (declared by config rules): the whole agent's CPU
//      and RSS in both runs and the difference (other capabilities idle: no log files,
//      metrics.interval 1h, output on a closed port).
// Both report the probe latency distribution (from the probes' own results) and the scheduling
// skew: the agent's own figure (start − due time) and the one the listeners see (each target's
// inter-arrival time minus the interval). Not a test: prints figures, asserts nothing.
//
//   npm run build && node bench/probes.ts [--targets 500] [--seconds 60] [--mode both|inprocess|agent]
//
// Uses DOCKHAND_BENCH_DOCKER_HOST when set, else starts a private dockerd like the test suite.
import { fork } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import http from 'node:http';
import net from 'node:net';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { benchArgs } from './args.ts';
import { pino } from 'pino';
import { Registry } from 'prom-client';
import { configSchema } from '../src/configuration.ts';
import { RecentEvents } from '../src/docker/recent-events.ts';
import { ContainerInventory } from '../src/docker/inventory.ts';
import type { ContainerRecord } from '../src/docker/types.ts';
import { HealthMonitor } from '../src/health/health-monitor.ts';
import { AgentProcess, cleanEnv } from '../test/helpers/agent-process.ts';
import { docker, ensureTestImage, startPrivateDockerd } from '../test/helpers/docker-engine.ts';
import type { PrivateDockerd } from '../test/helpers/docker-engine.ts';
import { waitFor } from '../test/helpers/wait.ts';
import { measureWindow, removeLabelledContainers } from './proc-figures.ts';

const INTERVAL_MS = 10_000;
const LABEL = 'dockhand.bench=probes';

const { values } = benchArgs(import.meta.url, {
  options: {
    targets: { type: 'string', default: '500' },
    seconds: { type: 'string', default: '60' },
    mode: { type: 'string', default: 'both' },
    listeners: { type: 'string' },
  },
});

// --- helper process: the listeners ------------------------------------------------------------

interface ListenerReport {
  /** Per target port, arrival times (ms, monotonic) of probe connections. */
  arrivals: Record<string, number[]>;
}

async function runListeners(n: number): Promise<void> {
  const arrivals = new Map<number, number[]>();
  const ports: { tcp: number[]; http: number[] } = { tcp: [], http: [] };
  const listen = async (server: net.Server): Promise<number> => {
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', 1024, r));
    return (server.address() as AddressInfo).port;
  };
  for (let i = 0; i < n; i++) {
    const isHttp = i % 2 === 1;
    let port = 0;
    const server = isHttp ? http.createServer((_req, res) => res.end('ok')) : net.createServer((s) => s.end());
    server.on('connection', () => arrivals.get(port)?.push(performance.now()));
    port = await listen(server);
    arrivals.set(port, []);
    (isHttp ? ports.http : ports.tcp).push(port);
  }
  process.send?.({ ports });
  process.on('message', (m) => {
    if (m === 'reset') for (const a of arrivals.values()) a.length = 0;
    if (m === 'report') {
      const report: ListenerReport = { arrivals: Object.fromEntries([...arrivals].map(([p, a]) => [String(p), a])) };
      process.send?.(report, () => process.exit(0));
    }
  });
}

if (values.listeners !== undefined) {
  await runListeners(Number(values.listeners));
} else {
  await main();
}

// --- figures ------------------------------------------------------------------------------------

function pct(sorted: number[], p: number): number {
  if (sorted.length === 0) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] as number;
}

function dist(label: string, values: number[], unit = 'ms', digits = 2): string {
  const s = [...values].sort((a, b) => a - b);
  const f = (v: number): string => v.toFixed(digits);
  return `${label}: n=${s.length} p50 ${f(pct(s, 50))} p90 ${f(pct(s, 90))} p99 ${f(pct(s, 99))} max ${f(s.at(-1) ?? NaN)} ${unit}`;
}

/** Inter-arrival time minus the interval, per target, as the listeners saw it. */
function externalSkew(report: ListenerReport): number[] {
  const out: number[] = [];
  for (const a of Object.values(report.arrivals)) for (let i = 1; i < a.length; i++) out.push(Math.abs((a[i] as number) - (a[i - 1] as number) - INTERVAL_MS));
  return out;
}

async function startListeners(n: number): Promise<{ child: ChildProcess; ports: { tcp: number[]; http: number[] } }> {
  const child = fork(fileURLToPath(import.meta.url), ['--listeners', String(n)], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  const ports = await new Promise<{ tcp: number[]; http: number[] }>((resolve) => child.once('message', (m) => resolve((m as { ports: { tcp: number[]; http: number[] } }).ports)));
  return { child, ports };
}

function listenerReport(child: ChildProcess): Promise<ListenerReport> {
  return new Promise((resolve) => {
    child.once('message', (m) => resolve(m as ListenerReport));
    child.send('report');
  });
}

interface ProbesDoc {
  probes: { status: string; history?: { latencyMs: number; ok: boolean }[]; type: string }[];
  scheduler: { targets: number; inFlight: number; runs: number; overruns: number; maxDelayMs: number };
}

function latencyFigures(doc: ProbesDoc): string[] {
  const lines: string[] = [];
  for (const type of ['tcp', 'http']) {
    const lat = doc.probes.filter((p) => p.type === type).flatMap((p) => (p.history ?? []).map((h) => h.latencyMs));
    lines.push(`  probe latency ${dist(type, lat)}`);
  }
  const failed = doc.probes.flatMap((p) => p.history ?? []).filter((h) => !h.ok).length;
  lines.push(`  failed probes in the sampled history: ${failed}`);
  return lines;
}

// --- 1. in process --------------------------------------------------------------------------

async function inProcess(n: number, seconds: number): Promise<void> {
  console.log(`\n[in process] HealthMonitor over ${n} synthetic containers, ${seconds} s`);
  const { child, ports } = await startListeners(n);
  const dir = await mkdtemp(join(tmpdir(), 'dockhand-bench-probes-'));
  try {
    const config = configSchema.decode({ health: { defaults: { interval: '10s', timeout: '2s', grace: '0s' } } }, '', { problems: [], envSources: new Map(), files: [] });
    const inventory = new ContainerInventory();
    const started = new Date(Date.now() - 3_600_000).toISOString();
    const all = [...ports.tcp.map((p) => ['tcp', p] as const), ...ports.http.map((p) => ['http', p] as const)];
    all.forEach(([type, port], i) => {
      const rec: ContainerRecord = {
        id: (i + 1).toString(16).padStart(64, '0'), name: `bench-${type}-${i}`, image: 'bench:1', imageTag: '1', imageId: 'sha256:1',
        labels: { 'dockhand.probe.type': type, 'dockhand.probe.port': String(port) }, state: 'running', health: 'none', restartCount: 0,
        restartPolicy: 'no', restartPolicyMaxRetries: 0, exitCode: null, oomKilled: false, createdAt: started, startedAt: started, finishedAt: null,
        pid: 1000 + i, hostname: '', networkMode: 'host', ips: {}, ports: [], cgroupPath: '', updatedAt: 1,
      };
      inventory.upsert(rec);
    });
    const rss0 = process.memoryUsage().rss;
    const monitor = new HealthMonitor({
      config: config.health, stateDir: dir, inventory, events: new RecentEvents(1000), docker: {} as never,
      dockerState: () => 'connected', callTimeoutMs: 1000, logger: pino({ level: 'warn' }), registry: new Registry(),
    });
    await monitor.start();
    // one full interval to get every probe going, then measure
    await new Promise((r) => setTimeout(r, INTERVAL_MS + 1000));
    child.send('reset');
    const cpu0 = process.cpuUsage();
    const t0 = performance.now();
    let peak = 0;
    while (performance.now() - t0 < seconds * 1000) {
      await new Promise((r) => setTimeout(r, 1000));
      peak = Math.max(peak, process.memoryUsage().rss);
    }
    const cpu = process.cpuUsage(cpu0);
    const wall = (performance.now() - t0) / 1000;
    const stats = monitor.schedulerStats();
    const doc = monitor.probesDocument(null) as unknown as ProbesDoc;
    await monitor.stop();
    const report = await listenerReport(child);
    const cpuS = (cpu.user + cpu.system) / 1e6;
    console.log(`  CPU ${((cpuS / wall) * 100).toFixed(2)} % of a core over ${wall.toFixed(0)} s (${(cpuS * 1000).toFixed(0)} ms for ~${Math.round((n * wall * 1000) / INTERVAL_MS)} probes, ${((cpuS * 1e6) / ((n * wall * 1000) / INTERVAL_MS)).toFixed(0)} µs each)`);
    console.log(`  RSS growth ${((peak - rss0) / 1048576).toFixed(1)} MB (process peak ${(peak / 1048576).toFixed(1)} MB)`);
    console.log(`  healthy ${doc.probes.filter((p) => p.status === 'healthy').length}/${n}; scheduler runs ${stats.runs}, overruns ${stats.overruns}, worst skew (start − due, whole run) ${stats.maxDelayMs.toFixed(1)} ms`);
    for (const l of latencyFigures(doc)) console.log(l);
    console.log(`  ${dist('skew seen by the listeners (|inter-arrival − 10 s|)', externalSkew(report))}`);
  } finally {
    child.kill();
    await rm(dir, { recursive: true, force: true });
  }
}

// --- 2. the built agent with real containers -----------------------------------------------

async function freePort(): Promise<number> {
  const s = net.createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  const port = (s.address() as AddressInfo).port;
  await new Promise((r) => s.close(r));
  return port;
}

interface AgentFigures {
  cpuPct: number;
  cpuMs: number;
  wallS: number;
  rssAvg: number;
  rssPeak: number;
  /** V8 heap used / total and external memory at the end, MB (from the agent's /metrics). */
  heap: string;
}

async function heapFigures(api: string): Promise<string> {
  const text = await (await fetch(`${api}/metrics`)).text();
  const mb = (name: string): string => (Number(new RegExp(`^${name} (\\S+)`, 'm').exec(text)?.[1] ?? NaN) / 1048576).toFixed(1);
  return `heap used ${mb('dockhand_nodejs_heap_size_used_bytes')} of ${mb('dockhand_nodejs_heap_size_total_bytes')} MB, external ${mb('dockhand_nodejs_external_memory_bytes')} MB`;
}

/** Runs the built agent on `config` until `ready`, then measures its CPU and RSS over `seconds`. */
async function measureAgent(config: string, ready: () => Promise<boolean>, seconds: number, after: (api: string) => Promise<void>, api: string): Promise<AgentFigures> {
  const agent = new AgentProcess(['run', '--config', config], cleanEnv());
  try {
    await waitFor('agent ready for the measurement', ready, 180_000, 1000);
    await new Promise((r) => setTimeout(r, 3000));
    const w = await measureWindow(agent.child.pid as number, seconds);
    const heap = await heapFigures(api);
    await after(api);
    agent.child.kill('SIGTERM');
    await agent.exited;
    return { cpuPct: (w.cpuS / w.wallS) * 100, cpuMs: w.cpuS * 1000, wallS: w.wallS, rssAvg: w.rssAvgMb, rssPeak: w.rssPeakMb, heap };
  } finally {
    await agent.dispose();
  }
}

async function agentRun(n: number, seconds: number): Promise<void> {
  console.log(`\n[agent] the built agent with ${n} containers, without probes and then probing them, ${seconds} s each`);
  let daemon: PrivateDockerd | undefined;
  const host = process.env.DOCKHAND_BENCH_DOCKER_HOST ?? (daemon = await startPrivateDockerd({ name: 'bench-probes' })).host;
  const { child, ports } = await startListeners(n);
  const dir = await mkdtemp(join(tmpdir(), 'dockhand-bench-probes-'));
  try {
    const image = await ensureTestImage(host);
    const all = [...ports.tcp.map((p) => ['tcp', p] as const), ...ports.http.map((p) => ['http', p] as const)];
    const t0 = performance.now();
    let next = 0;
    await Promise.all(Array.from({ length: 8 }, async () => {
      while (next < all.length) {
        const i = next++;
        await docker(host, ['run', '-d', '--name', `dh-bench-probe-${i}`, '--network', 'host', '--label', LABEL, image, 'sleep', '36000']);
      }
    }));
    console.log(`  ${n} containers created in ${((performance.now() - t0) / 1000).toFixed(0)} s (engine ${host})`);

    // The same containers, the same agent; the second run declares one probe per container by
    // config rule (the same path as labels, which rules cannot template a port into), so the
    // difference between the runs is the cost of probing.
    await mkdir(join(dir, 'logs'));
    const apiPort = await freePort();
    const base = [
      'log_level: warn',
      `state_dir: ${dir}/state`,
      `docker: { host: "${host}" }`,
      `api: { listen: "127.0.0.1:${apiPort}", metrics_auth: false }`,
      `logs: { roots: ["${dir}/logs"] }`,
      `outputs: [{ type: tcp, hosts: ["127.0.0.1:${await freePort()}"] }]`,
      'metrics: { interval: 1h }',
    ];
    const rules = all.map(([type, port], i) => `    - { match: { name: dh-bench-probe-${i} }, probe: { type: ${type}, port: ${port} } }`);
    const baseline = join(dir, 'baseline.yaml');
    const probing = join(dir, 'probing.yaml');
    await writeFile(baseline, base.join('\n'));
    await writeFile(probing, [...base, 'health:', '  defaults: { interval: 10s, timeout: 2s, grace: 0s }', '  rules:', ...rules].join('\n'));
    const api = `http://127.0.0.1:${apiPort}`;
    const probes = async (): Promise<ProbesDoc> => (await (await fetch(`${api}/v1/probes`)).json()) as ProbesDoc;
    const containers = async (): Promise<number> => ((await (await fetch(`${api}/v1/containers`)).json()) as { containers: unknown[] }).containers.length;

    const idle = await measureAgent(baseline, async () => (await containers().catch(() => 0)) >= n, seconds, () => Promise.resolve(), api);
    console.log(`  without probes: agent CPU ${idle.cpuPct.toFixed(2)} % of a core over ${idle.wallS.toFixed(0)} s (${idle.cpuMs.toFixed(0)} ms); RSS avg ${idle.rssAvg.toFixed(1)} MB, peak ${idle.rssPeak.toFixed(1)} MB; ${idle.heap}`);

    let doc: ProbesDoc | undefined;
    let report: ListenerReport | undefined;
    let metrics = '';
    const busy = await measureAgent(probing, async () => (await probes().catch(() => ({ probes: [] }) as unknown as ProbesDoc)).probes.filter((p) => p.status === 'healthy').length === n, seconds, async () => {
      doc = await probes();
      report = await listenerReport(child);
      metrics = await (await fetch(`${api}/metrics`)).text();
    }, api);
    console.log(`  probing:        agent CPU ${busy.cpuPct.toFixed(2)} % of a core over ${busy.wallS.toFixed(0)} s (${busy.cpuMs.toFixed(0)} ms); RSS avg ${busy.rssAvg.toFixed(1)} MB, peak ${busy.rssPeak.toFixed(1)} MB; ${busy.heap}`);
    const probesRun = (n * busy.wallS * 1000) / INTERVAL_MS;
    console.log(`  cost of probing: ${(busy.cpuPct - idle.cpuPct).toFixed(2)} % of a core (${(((busy.cpuMs / busy.wallS - idle.cpuMs / idle.wallS) * busy.wallS * 1000) / probesRun).toFixed(0)} µs per probe), RSS +${(busy.rssAvg - idle.rssAvg).toFixed(1)} MB`);
    if (doc && report) {
      console.log(`  healthy ${doc.probes.filter((p) => p.status === 'healthy').length}/${n}; scheduler runs ${doc.scheduler.runs}, overruns ${doc.scheduler.overruns}, worst skew (start − due, whole run) ${doc.scheduler.maxDelayMs.toFixed(1)} ms`);
      for (const l of latencyFigures(doc)) console.log(l);
      console.log(`  ${dist('skew seen by the listeners (|inter-arrival − 10 s|)', externalSkew(report))}`);
    }
    const bucket = (le: string): string => new RegExp(`dockhand_probe_schedule_delay_seconds_bucket\\{le="${le.replace(/[+.]/g, '\\$&')}"\\} (\\d+)`).exec(metrics)?.[1] ?? '?';
    console.log(`  schedule delay histogram (whole run): ≤1 ms ${bucket('0.001')}, ≤10 ms ${bucket('0.01')}, ≤100 ms ${bucket('0.1')}, all ${bucket('+Inf')}`);
  } finally {
    child.kill();
    await removeLabelledContainers(host, LABEL);
    await daemon?.cleanup();
    await rm(dir, { recursive: true, force: true });
  }
}

async function main(): Promise<void> {
  const n = Number(values.targets);
  const seconds = Number(values.seconds);
  const mode = values.mode;
  console.log(`bench/probes: ${n} targets (${Math.ceil(n / 2)} TCP, ${Math.floor(n / 2)} HTTP) every 10 s; node ${process.version}`);
  if (mode === 'both' || mode === 'inprocess') await inProcess(n, seconds);
  if (mode === 'both' || mode === 'agent') await agentRun(n, seconds);
}
