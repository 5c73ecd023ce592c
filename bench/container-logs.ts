// bench/container-logs: containers' stdout through the Docker API to Logstash, through the built
// agent — N busybox containers each printing 200-byte lines as fast as they can (`yes`) for S
// seconds on a private dockerd, shipped through the Beats output with ACKs to a local receiver.
// Prints lines/s shipped, the agent's CPU per line, dockerd's CPU per line (its json-file
// logger and the API stream are its work; read from /proc/<dockerd pid>/stat), the agent's peak
// RSS. Containers use max-size=20m,max-file=2 so the disk stays bounded. Asserts nothing.
//
//   npm run build && npm run bench:container-logs -- [--containers 10] [--seconds 30]
//   npm run bench:container-logs -- --lines 200000 [--containers 10]
// With --lines each container prints exactly that many lines and exits; the same is first run
// without the agent, so dockerd's CPU for logging alone (json-file) is measured apart from what
// serving the API stream adds. --read-from files reads the json-file logs directly instead
// (container_logs.read_from; the benchmark runs as root).
import { benchArgs } from './args.ts';
import { BeatsReceiver } from '../test/helpers/beats-receiver.ts';
import { TEST_IMAGE, docker, ensureTestImage, startPrivateDockerd } from '../test/helpers/docker-engine.ts';
import { logsSetup, startLogsAgent } from '../test/helpers/logs-agent.ts';
import { procFigures } from './proc-figures.ts';

const { values } = benchArgs(import.meta.url, {
  options: { 'read-from': { type: 'string', default: 'api' }, containers: { type: 'string', default: '10' }, seconds: { type: 'string', default: '30' }, lines: { type: 'string' }, 'agent-env': { type: 'string', multiple: true, default: [] } },
});
// --agent-env K=V (repeatable): extra environment for the agent, e.g. NODE_OPTIONS=--cpu-prof
const AGENT_ENV = Object.fromEntries(values['agent-env'].map((kv) => [kv.slice(0, kv.indexOf('=')), kv.slice(kv.indexOf('=') + 1)]));
const CONTAINERS = Number(values.containers);
const SECONDS = Number(values.seconds);
const FIXED = values.lines === undefined ? 0 : Number(values.lines);
const LINE = 'x'.repeat(199); // + "\n" = 200 bytes
const READ_FROM = values['read-from'];
if (READ_FROM !== 'api' && READ_FROM !== 'files') throw new Error('--read-from is api or files');
const EXTRA_YAML = `container_logs:\n  read_from: ${READ_FROM}`;
const PATH_NAME = READ_FROM === 'api' ? 'Docker API' : 'json-file logs read directly';

const dockerd = await startPrivateDockerd({ name: 'bench-clogs' });
const setup = await logsSetup();
let lines = 0;
const receiver = await BeatsReceiver.start({
  record: false,
  onEvent: (payload) => {
    // container lines only (not Docker lifecycle events)
    if (payload.includes('"docker.container_logs"')) lines++;
  },
});
try {
  await ensureTestImage(dockerd.host);
  if (FIXED > 0) await fixed();
  else await timed();
} finally {
  await cleanup();
}

/** Lines printed as fast as they can for SECONDS. */
async function timed(): Promise<void> {
  const agent = await startLogsAgent(setup, receiver.address, { dockerHost: dockerd.host, env: AGENT_ENV, extraYaml: EXTRA_YAML });
  const pid = agent.agent.child.pid as number;
  const agent0 = procFigures(pid).cpuS;
  const dockerd0 = procFigures(dockerd.pid).cpuS;
  const t0 = performance.now();
  const lines0 = lines;
  await Promise.all(
    Array.from({ length: CONTAINERS }, (_, i) =>
      docker(dockerd.host, ['run', '-d', '--name', `bench-${i}`, '--network', 'none', '--log-opt', 'max-size=20m', '--log-opt', 'max-file=2', TEST_IMAGE, 'timeout', '-s', 'KILL', String(SECONDS), 'yes', LINE]),
    ),
  );
  let peakRss = 0;
  const perSecond: number[] = [];
  let last = lines;
  while (performance.now() - t0 < SECONDS * 1000) {
    await new Promise((r) => setTimeout(r, 1000));
    peakRss = Math.max(peakRss, procFigures(pid).rssMb);
    perSecond.push(lines - last);
    last = lines;
  }
  const wallS = (performance.now() - t0) / 1000;
  const shipped = lines - lines0;
  const agentCpu = procFigures(pid).cpuS - agent0;
  const dockerdCpu = procFigures(dockerd.pid).cpuS - dockerd0;
  const hwm = procFigures(pid).hwmMb;
  const metrics = await (await fetch(`http://127.0.0.1:${agent.port}/metrics`)).text();
  const read = Number(/^dockhand_log_lines_read_total\{source="container"\} (\S+)/m.exec(metrics)?.[1]);
  const f = (n: number, d = 0): string => n.toLocaleString('en-US', { maximumFractionDigits: d, minimumFractionDigits: d });
  console.log(`container output, ${CONTAINERS} containers x ${SECONDS} s of 200-byte lines (yes), ${PATH_NAME} -> Beats with ACKs:`);
  console.log(`  shipped ${f(shipped)} lines in ${f(wallS, 1)} s = ${f(shipped / wallS)} lines/s (${f((shipped * 200) / wallS / 1048576, 1)} MiB/s of message); read ${f(read)} messages`);
  console.log(`  per second: ${perSecond.map((n) => f(n / 1000, 0) + 'k').join(' ')}`);
  console.log(`  agent CPU ${f(agentCpu, 1)} s = ${f((agentCpu / shipped) * 1e6, 2)} µs/line; dockerd CPU ${f(dockerdCpu, 1)} s = ${f((dockerdCpu / shipped) * 1e6, 2)} µs/line shipped`);
  console.log(`  agent peak RSS ${f(Math.max(peakRss, hwm))} MB`);
  await printStreams(agent);
  await agent.stop();
}

/** What the streams went through: reopens (stalls and gaps) and messages the daemon sent twice. */
async function printStreams(agent: Awaited<ReturnType<typeof startLogsAgent>>): Promise<void> {
  const view = await agent.get<{ containers: { stalls: number; resentDropped: number; source: string; reason: string | null }[] }>('/v1/logs');
  const sum = (k: 'stalls' | 'resentDropped'): number => view.containers.reduce((a, c) => a + c[k], 0);
  const sources = view.containers.map((c) => c.source + (c.reason === null ? '' : ` (${c.reason})`));
  console.log(`  streams reopened ${sum('stalls')} times; messages the daemon sent twice (dropped): ${sum('resentDropped')}; read from: ${[...new Set(sources)].map((s) => `${sources.filter((x) => x === s).length}× ${s}`).join(', ')}`);
}

async function cleanup(): Promise<void> {
  await receiver.close();
  await dockerd.stop();
  await dockerd.cleanup();
  await setup.cleanup();
}

/** Exactly FIXED lines per container: first without the agent (dockerd logging alone), then shipped. */
async function fixed(): Promise<void> {
  const total = FIXED * CONTAINERS;
  const f = (n: number, d = 0): string => n.toLocaleString('en-US', { maximumFractionDigits: d, minimumFractionDigits: d });
  const runAll = (tag: string): Promise<unknown> =>
    Promise.all(
      Array.from({ length: CONTAINERS }, (_, i) =>
        docker(dockerd.host, ['run', '-d', '--name', `${tag}-${i}`, '--network', 'none', TEST_IMAGE, 'sh', '-c', `yes ${LINE} | head -n ${FIXED}`]),
      ),
    );
  const exited = async (tag: string): Promise<boolean> => (await docker(dockerd.host, ['ps', '-q', '--filter', `name=${tag}-`])).stdout.trim() === '';
  // dockerd logging alone
  let d0 = procFigures(dockerd.pid).cpuS;
  let t0 = performance.now();
  await runAll('alone');
  while (!(await exited('alone'))) await new Promise((r) => setTimeout(r, 100));
  const aloneS = (performance.now() - t0) / 1000;
  const aloneCpu = procFigures(dockerd.pid).cpuS - d0;
  console.log(`dockerd logging ${f(total)} lines of 200 bytes from ${CONTAINERS} containers (json-file), no reader: ${f(aloneS, 1)} s, dockerd CPU ${f(aloneCpu, 1)} s = ${f((aloneCpu / total) * 1e6, 2)} µs/line`);
  await docker(dockerd.host, ['rm', '-f', ...Array.from({ length: CONTAINERS }, (_, i) => `alone-${i}`)]);
  // the same with the agent following and shipping
  const agent = await startLogsAgent(setup, receiver.address, { dockerHost: dockerd.host, env: AGENT_ENV, extraYaml: EXTRA_YAML });
  const pid = agent.agent.child.pid as number;
  const a0 = procFigures(pid).cpuS;
  d0 = procFigures(dockerd.pid).cpuS;
  t0 = performance.now();
  const lines0 = lines;
  await runAll('shipped');
  let peakRss = 0;
  while (lines - lines0 < total && performance.now() - t0 < 600_000) {
    await new Promise((r) => setTimeout(r, 200));
    peakRss = Math.max(peakRss, procFigures(pid).rssMb);
  }
  const wallS = (performance.now() - t0) / 1000;
  const shipped = lines - lines0;
  const agentCpu = procFigures(pid).cpuS - a0;
  const dockerdCpu = procFigures(dockerd.pid).cpuS - d0;
  console.log(`the same followed (${PATH_NAME}) and shipped through Beats with ACKs: ${f(shipped)} lines in ${f(wallS, 1)} s = ${f(shipped / wallS)} lines/s`);
  console.log(`  agent CPU ${f(agentCpu, 1)} s = ${f((agentCpu / shipped) * 1e6, 2)} µs/line; dockerd CPU ${f(dockerdCpu, 1)} s = ${f((dockerdCpu / shipped) * 1e6, 2)} µs/line (${f(((dockerdCpu - aloneCpu) / shipped) * 1e6, 2)} µs/line more than logging alone: serving what the agent reads)`);
  console.log(`  agent peak RSS ${f(Math.max(peakRss, procFigures(pid).hwmMb))} MB`);
  await printStreams(agent);
  await agent.stop();
}
