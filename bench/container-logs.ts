// bench/container-logs: containers' stdout through the Docker API to Logstash, through the built
// agent — N busybox containers each printing 200-byte lines as fast as they can (`yes`) for S
// seconds on a private dockerd, shipped through the Beats output with ACKs to a local receiver.
// Prints lines/s shipped, the agent's CPU per line, dockerd's CPU per line (its json-file
// logger and the API stream are its work; read from /proc/<dockerd pid>/stat), the agent's peak
// RSS. Containers use max-size=20m,max-file=2 so the disk stays bounded. Asserts nothing.
//
//   npm run build && npm run bench:container-logs -- [--containers 10] [--seconds 30]
import { parseArgs } from 'node:util';
import { BeatsReceiver } from '../test/helpers/beats-receiver.ts';
import { TEST_IMAGE, docker, ensureTestImage, startPrivateDockerd } from '../test/helpers/docker-engine.ts';
import { logsSetup, startLogsAgent } from '../test/helpers/logs-agent.ts';
import { procFigures } from './proc-figures.ts';

const { values } = parseArgs({ options: { containers: { type: 'string', default: '10' }, seconds: { type: 'string', default: '30' } } });
const CONTAINERS = Number(values.containers);
const SECONDS = Number(values.seconds);
const LINE = 'x'.repeat(199); // + "\n" = 200 bytes

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
  const agent = await startLogsAgent(setup, receiver.address, { dockerHost: dockerd.host });
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
  console.log(`container output, ${CONTAINERS} containers x ${SECONDS} s of 200-byte lines (yes), Docker API -> Beats with ACKs:`);
  console.log(`  shipped ${f(shipped)} lines in ${f(wallS, 1)} s = ${f(shipped / wallS)} lines/s (${f((shipped * 200) / wallS / 1048576, 1)} MiB/s of message); read ${f(read)} messages`);
  console.log(`  per second: ${perSecond.map((n) => f(n / 1000, 0) + 'k').join(' ')}`);
  console.log(`  agent CPU ${f(agentCpu, 1)} s = ${f((agentCpu / shipped) * 1e6, 2)} µs/line; dockerd CPU ${f(dockerdCpu, 1)} s = ${f((dockerdCpu / shipped) * 1e6, 2)} µs/line shipped`);
  console.log(`  agent peak RSS ${f(Math.max(peakRss, hwm))} MB`);
  await agent.stop();
} finally {
  await receiver.close();
  await dockerd.stop();
  await dockerd.cleanup();
  await setup.cleanup();
}
