// bench/idle: what the agent costs when nothing happens — the built agent with the default
// configuration (only the paths, the API port and an unreachable Logstash on loopback changed),
// a few sleeping containers on a real Docker engine, a few quiet log files. Prints RSS, V8 heap,
// external memory and the share of a core over the measured window. Asserts nothing.
//
//   npm run build && node bench/idle.ts [--containers 5] [--settle-seconds 150] [--seconds 120] [--read-from files]
// Docker: DOCKHAND_BENCH_DOCKER_HOST, else a private dockerd (test/helpers/docker-engine.ts).
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { benchArgs } from './args.ts';
import { AgentProcess, cleanEnv } from '../test/helpers/agent-process.ts';
import { TEST_LABEL, docker, ensureTestImage, removeAllContainers, startPrivateDockerd } from '../test/helpers/docker-engine.ts';
import type { PrivateDockerd } from '../test/helpers/docker-engine.ts';
import { freePort } from '../test/helpers/ports.ts';
import { waitFor } from '../test/helpers/wait.ts';
import { measureWindow, procFigures } from './proc-figures.ts';

const { values } = benchArgs(import.meta.url, {
  options: {
    containers: { type: 'string', default: '5' },
    // past start-up and the first quiet-minute memory release (src/core/idle-memory.ts)
    'settle-seconds': { type: 'string', default: '150' },
    seconds: { type: 'string', default: '120' },
    // container_logs.read_from (the default configuration reads through the API)
    'read-from': { type: 'string', default: 'api' },
  },
});

let daemon: PrivateDockerd | undefined;
const host = process.env.DOCKHAND_BENCH_DOCKER_HOST ?? (daemon = await startPrivateDockerd({ name: 'bench-idle' })).host;
const dir = await mkdtemp(join(tmpdir(), 'dockhand-bench-idle-'));
let agent: AgentProcess | undefined;
try {
  const image = await ensureTestImage(host);
  for (let i = 0; i < Number(values.containers); i++) {
    await docker(host, ['run', '-d', '--network', 'none', '--label', TEST_LABEL, '--name', `idle-${i}`, image, 'sleep', '3600']);
  }
  const logs = join(dir, 'logs');
  await mkdir(join(logs, 'tracing'), { recursive: true });
  for (let i = 0; i < 5; i++) await writeFile(join(logs, `app_svc${i}_prod_1.0_host_20261201.log`), 'one quiet line\n');
  const port = await freePort();
  const deadPort = await freePort(); // nothing listens: Logstash is down
  const config = join(dir, 'dockhand.yaml');
  await writeFile(config, `state_dir: ${join(dir, 'state')}\ndocker:\n  host: ${host}\napi:\n  listen: 127.0.0.1:${port}\n  metrics_auth: false\nlogs:\n  roots: [${logs}, ${join(logs, 'tracing')}]\noutputs:\n  - type: beats\n    hosts: [127.0.0.1:${deadPort}]\ncontainer_logs:\n  read_from: ${values['read-from']}\n`);
  agent = new AgentProcess(['run', '--config', config], cleanEnv());
  const a = agent;
  await waitFor('agent started', () => a.find('dockhand started') ?? a.child.exitCode !== null, 30_000);
  if (a.child.exitCode !== null) throw new Error(`agent exited: ${a.stderr}`);
  const pid = a.child.pid as number;
  await new Promise((res) => setTimeout(res, Number(values['settle-seconds']) * 1000));
  const w = await measureWindow(pid, Number(values.seconds));
  const after = procFigures(pid);
  const text = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
  const mb = (name: string): string => (Number(new RegExp(`^${name} (\\S+)`, 'm').exec(text)?.[1] ?? NaN) / 1e6).toFixed(1);
  const rollup = await readFile(`/proc/${pid}/smaps_rollup`, 'utf8');
  const kb = (k: string): string => (Number(new RegExp(`^${k}:\\s+(\\d+)`, 'm').exec(rollup)?.[1] ?? NaN) / 1024).toFixed(1);
  console.log(`idle agent, ${values.containers} containers (output read from ${values['read-from']}), Logstash unreachable, ${w.wallS.toFixed(0)} s after ${values['settle-seconds']} s settling:`);
  console.log(`  CPU ${((w.onCpuS / w.wallS) * 100).toFixed(3)} % of a core on CPU (schedstat; ${((w.cpuS / w.wallS) * 100).toFixed(3)} % by utime+stime ticks), ${(w.runs / w.wallS).toFixed(1)} thread wake-ups/s`);
  console.log(`  RSS ${after.rssMb.toFixed(1)} MB (peak ${w.rssPeakMb.toFixed(1)}; anonymous ${kb('Anonymous')} MB)`);
  console.log(`  V8 heap total ${mb('dockhand_nodejs_heap_size_total_bytes')} MB (used ${mb('dockhand_nodejs_heap_size_used_bytes')}), external ${mb('dockhand_nodejs_external_memory_bytes')} MB`);
} finally {
  if (agent) await agent.dispose();
  await removeAllContainers(host).catch(() => 0);
  await daemon?.stop();
  await rm(dir, { recursive: true, force: true });
}
