/**
 * The built agent shipping a temp log directory to a strict Beats receiver: the set-up every
 * end-to-end log test shares. Fast timers (rescan, close_inactive, multiline timeout) keep the
 * tests short; nothing in them asserts a timing.
 */
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { AgentProcess, cleanEnv } from './agent-process.ts';
import type { ReceivedEvent } from './beats-receiver.ts';
import { waitFor } from './wait.ts';
export { freePort } from './ports.ts';
import { freePort } from './ports.ts';

export interface LogsSetup {
  dir: string;
  logs: string;
  tracing: string;
  state: string;
  cleanup(): Promise<void>;
}

export async function logsSetup(): Promise<LogsSetup> {
  const dir = await mkdtemp(join(tmpdir(), 'dockhand-logs-'));
  const logs = join(dir, 'logs');
  const tracing = join(logs, 'tracing');
  await mkdir(tracing, { recursive: true });
  return { dir, logs, tracing, state: join(dir, 'state'), cleanup: () => rm(dir, { recursive: true, force: true }) };
}

export interface AgentHandle {
  agent: AgentProcess;
  port: number;
  /** GET an API path as JSON. */
  get<T>(path: string): Promise<T>;
  stop(): Promise<number | null>;
}

/**
 * DOCKHAND_TEST_LINE_WORKERS=all (in the test's own environment) runs every agent these helpers
 * start with every file's lines on a line worker (logs.workers 1, worker_backlog 0): the
 * `*-workers.test.ts` files run whole suites that way.
 */
export function lineWorkersEnv(): Record<string, string> {
  return process.env.DOCKHAND_TEST_LINE_WORKERS === 'all' ? { DOCKHAND_LOGS__WORKERS: '1', DOCKHAND_LOGS__WORKER_BACKLOG: '0' } : {};
}

/** Starts the built agent on `setup` shipping to `receiverAddress`; `extraYaml` is appended (top-level keys). */
export async function startLogsAgent(setup: LogsSetup, receiverAddress: string, options: { dockerHost?: string; extraYaml?: string; logsYaml?: string; outputYaml?: string; outputType?: 'beats' | 'tcp' | 'http'; env?: Record<string, string>; closeInactive?: string } = {}): Promise<AgentHandle> {
  const port = await freePort();
  const config = join(setup.dir, `agent-${port}.yaml`);
  await writeFile(
    config,
    `log_level: ${process.env.DOCKHAND_TEST_LOG ?? 'info'}
state_dir: ${setup.state}
docker:
  host: ${options.dockerHost ?? `unix://${setup.dir}/no-docker.sock`}
  reconnect_max: 2s
api:
  listen: 127.0.0.1:${port}
  metrics_auth: false
logs:
  roots: [${setup.logs}, ${setup.tracing}]
  rescan_interval: 300ms
  close_inactive: ${options.closeInactive ?? '2s'}
  stall_warning: 2s
  multiline:
    timeout: 300ms
${options.logsYaml ?? ''}
outputs:
  - type: ${options.outputType ?? 'beats'}
    hosts: [${receiverAddress}]
    backoff_base: 100ms
    backoff_max: 1s
    timeout: 5s
${options.outputYaml ?? ''}
${options.extraYaml ?? ''}`,
  );
  const agent = new AgentProcess(['run', '--config', config], cleanEnv({ ...lineWorkersEnv(), ...options.env }));
  await waitFor('agent started (or exited)', () => agent.find('dockhand started') ?? agent.child.exitCode !== null, 30_000);
  if (agent.child.exitCode !== null) throw new Error(`agent exited with ${agent.child.exitCode}: ${agent.stderr}${JSON.stringify(agent.lines.slice(-5))}`);
  return {
    agent,
    port,
    async get<T>(path: string): Promise<T> {
      const res = await fetch(`http://127.0.0.1:${port}${path}`);
      return (await res.json()) as T;
    },
    async stop() {
      if (agent.child.exitCode !== null) return agent.child.exitCode;
      agent.child.kill('SIGTERM');
      return (await agent.exited).code;
    },
  };
}

/**
 * The agent has nothing left to send: every followed file read to its end and acknowledged, the
 * queue empty, no batch in flight. What has not arrived by then will not (no fixed wait needed).
 */
export async function allAcknowledged(agent: AgentHandle): Promise<boolean> {
  const s = await agent.get<{ queuedEvents: number; batchesInFlight: number; files: { size: number; readOffset: number; ackedOffset: number }[] }>('/v1/logs');
  return s.queuedEvents === 0 && s.batchesInFlight === 0 && s.files.every((f) => f.readOffset === f.size && f.ackedOffset === f.size);
}

/** Log-line events (not Docker/agent events) received, by message. */
export function logMessages(events: readonly ReceivedEvent[]): string[] {
  return events.filter((e) => (e.json.log as { file?: unknown } | undefined)?.file !== undefined).map((e) => String(e.json.message));
}
