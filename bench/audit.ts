// bench/audit: with N running busybox containers (default 50), the CPU cost of a full audit sweep
// (daemon, files, certificates, registries, and one inspect + checks per container), of
// re-checking one container as its event does, and of the pure checks alone; peak RSS of the
// process. In process, against a real dockerd. Not a test: prints figures, asserts nothing.
//
//   node bench/audit.ts [--containers 50] [--sweeps 5]
//
// Uses DOCKHAND_BENCH_DOCKER_HOST when set, else starts a private dockerd like the test suite.
import { benchArgs } from './args.ts';
import { pino } from 'pino';
import { Auditor } from '../src/audit/auditor.ts';
import { CHECKS } from '../src/audit/catalogue.ts';
import { checkContainer } from '../src/audit/container-checks.ts';
import type { ContainerInspect } from '../src/audit/container-checks.ts';
import { configSchema } from '../src/configuration.ts';
import { decodeContext } from '../src/config/schema-dsl.ts';
import { createDockerClient } from '../src/docker/client.ts';
import { ContainerInventory } from '../src/docker/inventory.ts';
import { RecentEvents } from '../src/docker/recent-events.ts';
import { DockerWatcher } from '../src/docker/watcher.ts';
import { docker, ensureTestImage, startPrivateDockerd } from '../test/helpers/docker-engine.ts';
import type { PrivateDockerd } from '../test/helpers/docker-engine.ts';
import { waitFor } from '../test/helpers/wait.ts';
import { removeLabelledContainers } from './proc-figures.ts';

const { values } = benchArgs(import.meta.url, { options: { containers: { type: 'string', default: '50' }, sweeps: { type: 'string', default: '5' } } });
const N = Number(values.containers);
const SWEEPS = Number(values.sweeps);
const LABEL = 'dockhand.bench=audit';

function cpuMs(since: NodeJS.CpuUsage): number {
  const d = process.cpuUsage(since);
  return (d.user + d.system) / 1000;
}

let daemon: PrivateDockerd | undefined;
const host = process.env.DOCKHAND_BENCH_DOCKER_HOST ?? (daemon = await startPrivateDockerd({ name: 'bench-audit' })).host;
try {
  const image = await ensureTestImage(host);
  console.log(`engine ${host}; creating ${N} running containers (a third privileged-looking: host pid, SYS_ADMIN, docker.sock)…`);
  let next = 0;
  await Promise.all(Array.from({ length: 4 }, async () => {
    while (next < N) {
      const i = next++;
      const risky = i % 3 === 0 ? ['--pid', 'host', '--cap-add', 'SYS_ADMIN', '-v', `${host.replace('unix://', '')}:/var/run/docker.sock`] : ['--read-only', '--memory', '64m', '--pids-limit', '64', '--user', '1000'];
      await docker(host, ['run', '-d', '--label', LABEL, '--network', 'none', ...risky, image, 'sleep', '36000']);
    }
  }));

  const config = configSchema.decode({ docker: { host }, audit: { interval: '1h' } }, '', decodeContext());
  const client = createDockerClient(config.docker);
  const inventory = new ContainerInventory();
  const events = new RecentEvents(10_000);
  const watcher = new DockerWatcher({
    docker: client, inventory, events, logger: pino({ level: 'silent' }),
    reconnectBaseMs: 500, reconnectMaxMs: 1000, resyncIntervalMs: 0, callTimeoutMs: 30_000,
  });
  watcher.start();
  await waitFor('inventory', () => watcher.state === 'connected' && inventory.size >= N, 120_000);

  const rssBefore = process.memoryUsage().rss;
  const auditor = new Auditor({
    config: config.audit, docker: client, inventory, events, logger: pino({ level: 'silent' }), callTimeoutMs: 30_000,
    socketPath: host.startsWith('unix://') ? host.slice('unix://'.length) : '', procRoot: '/proc',
    dockerConnected: () => watcher.state === 'connected', dockerRootDir: () => watcher.engine?.rootDir,
    probed: () => false, ownCertificates: () => [], tickMs: 3_600_000,
  });
  auditor.start();
  await auditor.sweep(); // warm-up (JIT, connections)

  const sweeps: { wallMs: number; cpuMs: number }[] = [];
  for (let i = 0; i < SWEEPS; i++) {
    const cpu = process.cpuUsage();
    const t0 = performance.now();
    await auditor.sweep();
    sweeps.push({ wallMs: performance.now() - t0, cpuMs: cpuMs(cpu) });
  }
  const ids = inventory.ids();
  const cpu1 = process.cpuUsage();
  const t1 = performance.now();
  for (const id of ids) await auditor.recheck(id);
  const recheckCpuUs = (cpuMs(cpu1) * 1000) / ids.length;
  const recheckWallMs = (performance.now() - t1) / ids.length;

  const docs = await Promise.all(ids.slice(0, 20).map(async (id) => (await client.getContainer(id).inspect()) as unknown as ContainerInspect));
  const ROUNDS = 20_000;
  const cpu2 = process.cpuUsage();
  for (let i = 0; i < ROUNDS; i++) checkContainer(docs[i % docs.length] as ContainerInspect, { probed: false, dockerSockets: ['/var/run/docker.sock'] });
  const pureUs = (cpuMs(cpu2) * 1000) / ROUNDS;

  const med = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] ?? 0;
  const findings = auditor.findings();
  const bySection = (prefix: string): number => CHECKS.filter((c) => c.cis?.split(',').some((id) => id.trim().startsWith(prefix))).length;
  console.log(`\n${N} containers, ${findings.length} findings (${new Set(findings.map((f) => f.check)).size} checks firing), ${auditor.notChecked().length} not checked`);
  console.log(`full sweep:              median ${med(sweeps.map((s) => s.cpuMs)).toFixed(1)} ms CPU, ${med(sweeps.map((s) => s.wallMs)).toFixed(0)} ms wall (${SWEEPS} sweeps: ${sweeps.map((s) => s.cpuMs.toFixed(0)).join(', ')} ms CPU)`);
  console.log(`re-check one container:  ${recheckCpuUs.toFixed(0)} µs CPU, ${recheckWallMs.toFixed(1)} ms wall (inspect + checks + publish; mean of ${ids.length})`);
  console.log(`pure checks only:        ${pureUs.toFixed(1)} µs CPU per container`);
  console.log(`RSS: ${(rssBefore / 2 ** 20).toFixed(0)} MiB before the auditor, ${(process.memoryUsage().rss / 2 ** 20).toFixed(0)} MiB after the sweeps; peak ${(process.resourceUsage().maxRSS / 1024).toFixed(0)} MiB (bench, Docker client, watcher and auditor together)`);
  console.log(`checks: ${CHECKS.length} (with a CIS Docker Benchmark v1.6.0 id: section 2: ${bySection('2.')}, 3: ${bySection('3.')}, 4: ${bySection('4.')}, 5: ${bySection('5.')})`);
  await auditor.stop();
  await watcher.stop();
} finally {
  await removeLabelledContainers(host, LABEL).catch(() => undefined);
  await daemon?.cleanup();
}
