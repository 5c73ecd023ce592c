// bench/inventory: with N running busybox containers (default 200), times a full list + inspect +
// reconcile (in process, repeated), then runs the built agent and measures its idle CPU and RSS
// over a window (default 60 s). Not a test: prints figures, asserts nothing.
//
//   npm run build && node bench/inventory.ts [--containers 200] [--idle-seconds 60]
//
// Uses DOCKHAND_BENCH_DOCKER_HOST when set, else starts a private dockerd like the test suite.
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { benchArgs } from './args.ts';
import { pino } from 'pino';
import { RecentEvents } from '../src/docker/recent-events.ts';
import { createDockerClient } from '../src/docker/client.ts';
import { ContainerInventory } from '../src/docker/inventory.ts';
import { DockerWatcher } from '../src/docker/watcher.ts';
import { AgentProcess, cleanEnv } from '../test/helpers/agent-process.ts';
import { docker, ensureTestImage, startPrivateDockerd } from '../test/helpers/docker-engine.ts';
import type { PrivateDockerd } from '../test/helpers/docker-engine.ts';
import { waitFor } from '../test/helpers/wait.ts';
import { measureWindow, removeLabelledContainers } from './proc-figures.ts';

const { values } = benchArgs(import.meta.url, { options: { containers: { type: 'string', default: '200' }, 'idle-seconds': { type: 'string', default: '60' } } });
const N = Number(values.containers);
const IDLE_S = Number(values['idle-seconds']);
const LABEL = 'dockhand.bench=inventory';

let daemon: PrivateDockerd | undefined;
const host = process.env.DOCKHAND_BENCH_DOCKER_HOST ?? (daemon = await startPrivateDockerd({ name: 'bench' })).host;
const dir = await mkdtemp(join(tmpdir(), 'dockhand-bench-'));
try {
  const image = await ensureTestImage(host);
  console.log(`engine ${host}; creating ${N} running containers…`);
  const t0 = performance.now();
  let next = 0;
  await Promise.all(
    Array.from({ length: 8 }, async () => {
      while (next < N) {
        next++;
        await docker(host, ['run', '-d', '--label', LABEL, '--network', 'none', image, 'sleep', '36000']);
      }
    }),
  );
  console.log(`  created in ${((performance.now() - t0) / 1000).toFixed(1)} s`);

  // 1. Full reconcile, in process: fresh watcher each round, so every container is listed and inspected.
  const rounds: { ms: number; cpuMs: number }[] = [];
  for (let i = 0; i < 5; i++) {
    const inventory = new ContainerInventory();
    const w = new DockerWatcher({
      docker: createDockerClient({ host, tls: null, allow_insecure: false, timeout: 30_000, reconnect_base: 500, reconnect_max: 1000, resync_interval: 0, events_buffer: 100 }),
      inventory,
      events: new RecentEvents(100),
      logger: pino({ level: 'silent' }),
      reconnectBaseMs: 500,
      reconnectMaxMs: 1000,
      resyncIntervalMs: 0,
      callTimeoutMs: 30_000,
    });
    const cpu0 = process.cpuUsage();
    const start = performance.now();
    w.start();
    await waitFor('connected', () => w.state === 'connected', 120_000, 1);
    const ms = performance.now() - start;
    const cpu = process.cpuUsage(cpu0);
    if (inventory.size < N) throw new Error(`inventory has ${inventory.size} < ${N}`);
    rounds.push({ ms, cpuMs: (cpu.user + cpu.system) / 1000 });
    await w.stop();
  }
  const sorted = [...rounds].sort((a, b) => a.ms - b.ms);
  const median = sorted[Math.floor(sorted.length / 2)] as { ms: number; cpuMs: number };
  console.log(`full list + inspect + reconcile of ${N} containers (5 rounds): median ${median.ms.toFixed(0)} ms wall, ${median.cpuMs.toFixed(0)} ms agent CPU; min ${sorted[0]?.ms.toFixed(0)} ms, max ${sorted.at(-1)?.ms.toFixed(0)} ms`);

  // 2. The built agent at idle: CPU and RSS of the process over the window.
  const srv = createServer();
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
  const port = (srv.address() as { port: number }).port;
  await new Promise((r) => srv.close(r));
  const config = join(dir, 'dockhand.yaml');
  await writeFile(config, `log_level: warn\nstate_dir: ${dir}/state\ndocker:\n  host: ${host}\napi:\n  listen: 127.0.0.1:${port}\n  metrics_auth: false\n`);
  const agent = new AgentProcess(['run', '--config', config], cleanEnv());
  try {
    try {
      // Docker connected and reconciled; readiness as a whole also wants a Logstash, absent here
      const dockerReady = async (): Promise<boolean> => {
        const body = (await (await fetch(`http://127.0.0.1:${port}/readyz`)).json()) as { checks: { name: string; ok: boolean }[] };
        return body.checks.some((c) => c.name === 'docker' && c.ok);
      };
      await waitFor('agent connected to Docker', dockerReady, 60_000, 100);
    } catch (err) {
      // say why: the agent's exit status and its last words
      console.log(`agent exit: ${JSON.stringify({ code: agent.child.exitCode, signal: agent.child.signalCode })}\n${agent.lines.filter((l) => l.msg !== 'cannot connect to Logstash').slice(-15).map((l) => JSON.stringify(l)).join('\n')}\n${agent.stderr.slice(-2000)}`);
      throw err;
    }
    await new Promise((r) => setTimeout(r, 3000)); // let start-up work settle
    const w = await measureWindow(agent.child.pid as number, IDLE_S);
    console.log(`agent idle over ${w.wallS.toFixed(0)} s with ${N} containers: CPU ${((w.cpuS / w.wallS) * 100).toFixed(2)} % of a core (${(w.cpuS * 1000).toFixed(0)} ms), RSS avg ${w.rssAvgMb.toFixed(1)} MB, peak ${w.rssPeakMb.toFixed(1)} MB`);
    agent.child.kill('SIGTERM');
    await agent.exited;
  } finally {
    await agent.dispose();
  }
} finally {
  await removeLabelledContainers(host, LABEL);
  await daemon?.cleanup();
  await rm(dir, { recursive: true, force: true });
}
