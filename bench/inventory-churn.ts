// bench/inventory-churn: the inventory-drift issue's churn against the built agent. N containers
// run 8 at a time, then N/2 removed, N/4 killed and N/4 more run, interleaved (N = 200 by
// default). Two rounds, each with a fresh agent: `clean` (the agent on the engine's socket) and
// `lossy` (through a proxy that drops every k-th lifecycle event, as a slow subscriber or a broken
// stream would lose them). Per round: events per action as an independent subscriber saw them
// against what the agent counted, drift found, the time from the churn's end until the agent's
// GET /v1/containers equals `docker ps -a`, the agent's CPU during churn and convergence, its peak
// RSS. Not a test: prints figures, asserts nothing.
//
//   npm run build && npm run bench:inventory-churn -- [--containers 200] [--drop-every 5] [--limit-seconds 60]
//
// Uses DOCKHAND_BENCH_DOCKER_HOST when set (a unix:// engine, for the proxy), else starts a private dockerd.
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { benchArgs } from './args.ts';
import { createDockerClient } from '../src/docker/client.ts';
import { openEventStream } from '../src/docker/event-stream.ts';
import { AgentProcess, cleanEnv } from '../test/helpers/agent-process.ts';
import { churn, convergence, series } from '../test/helpers/container-churn.ts';
import { ensureTestImage, startPrivateDockerd } from '../test/helpers/docker-engine.ts';
import type { PrivateDockerd } from '../test/helpers/docker-engine.ts';
import { startLossyDockerProxy } from '../test/helpers/lossy-docker-proxy.ts';
import { freePort } from '../test/helpers/ports.ts';
import { waitFor } from '../test/helpers/wait.ts';
import { procFigures, removeLabelledContainers } from './proc-figures.ts';

const { values } = benchArgs(import.meta.url, { options: { containers: { type: 'string', default: '200' }, 'drop-every': { type: 'string', default: '5' }, 'limit-seconds': { type: 'string', default: '60' } } });
const N = Number(values.containers);
const DROP_EVERY = Number(values['drop-every']);
const LIMIT_MS = Number(values['limit-seconds']) * 1000;
const LABEL = 'dockhand.bench=inventory-churn';
const ACTIONS = ['create', 'start', 'kill', 'die', 'destroy'];
const SETTLE_MS = 4000;

let daemon: PrivateDockerd | undefined;
const host = process.env.DOCKHAND_BENCH_DOCKER_HOST ?? (daemon = await startPrivateDockerd({ name: 'bench-churn' })).host;
const dir = await mkdtemp(join(tmpdir(), 'dockhand-bench-'));

async function round(name: 'clean' | 'lossy', image: string): Promise<void> {
  // every DROP_EVERY-th lifecycle event of the churn never reaches the lossy round's agent
  let seen = 0;
  const proxy = name === 'lossy' ? await startLossyDockerProxy(host, dir, (e) => ACTIONS.includes(e.Action) && ++seen % DROP_EVERY === 0) : undefined;
  const port = await freePort();
  const config = join(dir, `${name}.yaml`);
  await writeFile(config, `log_level: warn\nstate_dir: ${dir}/${name}-state\ndocker:\n  host: ${proxy?.host ?? host}\napi:\n  listen: 127.0.0.1:${port}\n  metrics_auth: false\nlogs:\n  roots: [${dir}/logs]\n`);
  const agent = new AgentProcess(['run', '--config', config], cleanEnv());
  const base = `http://127.0.0.1:${port}`;
  // the independent subscriber: what Docker published, straight from the engine
  const published = new Map<string, number>();
  const ac = new AbortController();
  try {
    await waitFor('agent connected to Docker', async () => {
      const body = (await (await fetch(`${base}/readyz`)).json()) as { checks: { name: string; ok: boolean }[] };
      return body.checks.some((c) => c.name === 'docker' && c.ok);
    }, 60_000, 100);
    await openEventStream(createDockerClient({ host, tls: null, allow_insecure: false, timeout: 10_000, reconnect_base: 500, reconnect_max: 1000, resync_interval: 0, events_buffer: 10 }), {
      signal: ac.signal,
      onEvent: (e) => published.set(e.Action, (published.get(e.Action) ?? 0) + 1),
      onBadLine: () => undefined,
    });
    const pid = agent.child.pid as number;
    const before = procFigures(pid);
    const t0 = performance.now();
    await churn(host, image, N, LABEL);
    const ended = Date.now();
    const churnS = (performance.now() - t0) / 1000;
    const { ms, left } = await convergence(base, host, ended, LIMIT_MS);
    const after = procFigures(pid);
    // the re-list after the churn and the confirmation of what it found (2 s) take a moment more
    await new Promise((r) => setTimeout(r, SETTLE_MS));
    const exposition = await (await fetch(`${base}/metrics`)).text();
    const counted = series(exposition, 'dockhand_docker_events_total');
    const drift = series(exposition, 'dockhand_inventory_drift_total');
    const warnings = agent.lines.filter((l) => l.event === 'docker.drift').length;
    // every re-list is observed once: the connect's, then periodic (5 min, none here) and verifying ones
    const relists = Number(/^dockhand_docker_reconcile_duration_seconds_count (\S+)$/m.exec(exposition)?.[1] ?? 1) - 1;

    console.log(`\nround ${name}: churn of ${N} containers in ${churnS.toFixed(1)} s${proxy ? `, every ${DROP_EVERY}th lifecycle event dropped on the way` : ''}`);
    console.log(`  ${'events'.padEnd(10)}${ACTIONS.map((a) => a.padStart(9)).join('')}`);
    console.log(`  ${'docker'.padEnd(10)}${ACTIONS.map((a) => String(published.get(a) ?? 0).padStart(9)).join('')}`);
    if (proxy) console.log(`  ${'dropped'.padEnd(10)}${ACTIONS.map((a) => String(proxy.dropped.get(a) ?? 0).padStart(9)).join('')}`);
    console.log(`  ${'agent'.padEnd(10)}${ACTIONS.map((a) => String(counted.get(`action="${a}"`) ?? 0).padStart(9)).join('')}`);
    console.log(`  drift found: ${[...drift].map(([l, v]) => `${/"(.*)"/.exec(l)?.[1]} ${v}`).join(', ')}; ${warnings} warning line(s); ${relists} verifying re-list(s) (read ${SETTLE_MS / 1000} s after convergence)`);
    if (left.length === 0) console.log(`  inventory = docker ps -a ${(ms / 1000).toFixed(2)} s after the churn`);
    else console.log(`  inventory != docker ps -a ${(ms / 1000).toFixed(0)} s after the churn: ${left.length} differences, e.g. ${left.slice(0, 3).join('; ')}`);
    console.log(`  agent CPU ${((after.cpuS - before.cpuS) * 1000).toFixed(0)} ms during churn and convergence; peak RSS ${after.hwmMb.toFixed(1)} MB`);
    agent.child.kill('SIGTERM');
    await agent.exited;
  } finally {
    ac.abort();
    await agent.dispose();
    await proxy?.close();
    await removeLabelledContainers(host, LABEL);
  }
}

try {
  const image = await ensureTestImage(host);
  console.log(`engine ${host}`);
  await round('clean', image);
  await round('lossy', image);
} finally {
  await daemon?.cleanup();
  await rm(dir, { recursive: true, force: true });
}
