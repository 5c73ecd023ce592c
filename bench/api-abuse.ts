// bench/api-abuse: the built agent's API under abuse, on 127.0.0.1 with the real default limits
// (256 requests handled at once, 503 on connections opened past 1,024, 2,048 sockets held):
//   1. a burst of concurrent GET /metrics (default 2,000), each on its own connection: how many
//      got 200, 503 (with Retry-After), and how many lost their connection without a response;
//   2. a slowloris (default 300 connections sending a header byte a second and reconnecting when
//      closed) while a legitimate client asks /healthz and /metrics twice a second: how many of the
//      legitimate requests succeeded;
//   and the agent's peak RSS (VmHWM). Docker is absent on purpose: the API is what is measured.
// Not a test: prints figures, asserts nothing. Sends traffic to 127.0.0.1 only.
//
//   npm run build && node bench/api-abuse.ts [--requests 2000] [--slowloris 300] [--seconds 15]
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { benchArgs } from './args.ts';
import { getOnce, Slowloris, tally } from '../test/helpers/api-abuse.ts';
import type { Outcome } from '../test/helpers/api-abuse.ts';
import { AgentProcess, cleanEnv } from '../test/helpers/agent-process.ts';
import { freePort } from '../test/helpers/ports.ts';
import { waitFor } from '../test/helpers/wait.ts';
import { procFigures } from './proc-figures.ts';

const { values } = benchArgs(import.meta.url, {
  options: {
    requests: { type: 'string', default: '2000' },
    slowloris: { type: 'string', default: '300' },
    seconds: { type: 'string', default: '15' },
  },
});
const REQUESTS = Number(values.requests);
const SLOWLORIS = Number(values.slowloris);
const SECONDS = Number(values.seconds);

const format = (counts: Record<string, number>): string =>
  Object.entries(counts)
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([k, n]) => `${k}: ${n}`)
    .join(', ');

/** The agent's own rejection counter, or a note when this build has none. */
async function rejectedCounters(port: number): Promise<string> {
  const reply = await getOnce(port, '/metrics', 10_000);
  if ('error' in reply) return `(/metrics: ${reply.error})`;
  const lines = reply.body.split('\n').filter((l) => l.startsWith('dockhand_api_connections_rejected_total{'));
  return lines.length === 0 ? '(no dockhand_api_connections_rejected_total in this build)' : lines.map((l) => l.replace('dockhand_api_connections_rejected_total', '')).join(' ');
}

const dir = await mkdtemp(join(tmpdir(), 'dockhand-bench-api-'));
const port = await freePort();
const config = join(dir, 'dockhand.yaml');
await writeFile(
  config,
  `log_level: warn\nstate_dir: ${dir}/state\ndocker:\n  host: unix://${dir}/no-docker.sock\napi:\n  listen: 127.0.0.1:${port}\n  metrics_auth: false\n`,
);
const agent = new AgentProcess(['run', '--config', config], cleanEnv());
const pid = agent.child.pid as number;
try {
  await waitFor('agent API', async () => {
    const r = await getOnce(port, '/healthz', 1_000);
    return !('error' in r) && r.status === 200;
  }, 30_000, 100);
  await getOnce(port, '/metrics');
  console.log(`agent pid ${pid} on 127.0.0.1:${port}; RSS at start ${procFigures(pid).rssMb.toFixed(1)} MB`);

  // 1. Burst.
  const t0 = performance.now();
  const burst = await Promise.all(Array.from({ length: REQUESTS }, () => getOnce(port, '/metrics', 60_000)));
  const wallS = (performance.now() - t0) / 1000;
  const withRetryAfter = burst.filter((o) => !('error' in o) && o.status === 503 && o.headers['retry-after'] !== undefined).length;
  console.log(`${REQUESTS} concurrent GET /metrics in ${wallS.toFixed(1)} s: ${format(tally(burst))} (503 with Retry-After: ${withRetryAfter})`);
  console.log(`  agent counters: ${await rejectedCounters(port)}; peak RSS so far ${procFigures(pid).hwmMb.toFixed(1)} MB`);
  await new Promise((r) => setTimeout(r, 2_000));

  // 2. Slowloris with legitimate traffic during it.
  const cpuBefore = procFigures(pid).cpuS;
  const attack = new Slowloris(port, SLOWLORIS, { reconnect: true, byteEveryMs: 1_000 });
  const legit: Outcome[] = [];
  try {
    await attack.connected(Math.min(SLOWLORIS, 256), 10_000).catch(() => undefined);
    const until = performance.now() + SECONDS * 1000;
    while (performance.now() < until) {
      const pair = await Promise.all([getOnce(port, '/healthz', 10_000), getOnce(port, '/metrics', 10_000)]);
      legit.push(...pair);
      await new Promise((r) => setTimeout(r, 500));
    }
    const ok = legit.filter((o) => !('error' in o) && o.status === 200).length;
    console.log(`slowloris of ${SLOWLORIS} connections for ${SECONDS} s (${attack.open} open at the end, ${attack.closedByServer} closed by the agent and reopened):`);
    console.log(`  legitimate requests: ${ok} succeeded, ${legit.length - ok} failed (${format(tally(legit))})`);
    console.log(`  agent CPU meanwhile: ${(((procFigures(pid).cpuS - cpuBefore) / SECONDS) * 100).toFixed(1)} % of a core`);
  } finally {
    attack.stop();
  }
  console.log(`  agent counters: ${await rejectedCounters(port)}`);
  const end = procFigures(pid);
  console.log(`agent RSS now ${end.rssMb.toFixed(1)} MB, peak (VmHWM) ${end.hwmMb.toFixed(1)} MB`);
  agent.child.kill('SIGTERM');
  await agent.exited;
} finally {
  await agent.dispose();
  await rm(dir, { recursive: true, force: true });
}
