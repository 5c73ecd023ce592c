/**
 * The container churn of the inventory-drift issue, and the comparison of the agent's inventory
 * with `docker ps -a`: shared by test/integration/inventory-drift.test.ts and
 * bench/inventory-churn.ts.
 */
import { docker } from './docker-engine.ts';

/** Runs `jobs` with at most `width` at a time. */
export async function pool(width: number, jobs: (() => Promise<unknown>)[]): Promise<void> {
  let next = 0;
  await Promise.all(Array.from({ length: width }, async () => {
    while (next < jobs.length) await (jobs[next++] as () => Promise<unknown>)();
  }));
}

export interface ChurnCounts {
  created: number;
  removed: number;
  killed: number;
}

/**
 * The churn, scaled by n (200 there), 8 docker commands at a time: n containers run,
 * then n/2 removed (`rm -f`), n/4 killed and n/4 more run, all interleaved.
 */
export async function churn(host: string, image: string, n: number, label: string): Promise<ChurnCounts> {
  const run = async (): Promise<string> => (await docker(host, ['run', '-d', '--label', label, '--network', 'none', image, 'sleep', '3600'])).stdout.trim();
  const ids: string[] = [];
  await pool(8, Array.from({ length: n }, () => async () => ids.push(await run())));
  const jobs: (() => Promise<unknown>)[] = [];
  const half = Math.floor(n / 2);
  const quarter = Math.floor(n / 4);
  for (let i = 0; i < half; i++) {
    const removed = ids[i] as string;
    jobs.push(() => docker(host, ['rm', '-f', removed]));
    if (i < quarter) {
      const killed = ids[half + i] as string;
      jobs.push(() => docker(host, ['kill', killed]), run);
    }
  }
  await pool(8, jobs);
  return { created: n + quarter, removed: half, killed: quarter };
}

/** id → state, as `docker ps -a` shows them. */
export async function dockerStates(host: string): Promise<Map<string, string>> {
  const { stdout } = await docker(host, ['ps', '-a', '--no-trunc', '--format', '{{.ID}} {{.State}}']);
  return new Map(stdout.split('\n').filter(Boolean).map((l) => l.split(' ') as [string, string]));
}

/** id → state from the agent's `GET /v1/containers`. */
export async function agentStates(base: string): Promise<Map<string, string>> {
  const body = (await (await fetch(`${base}/v1/containers`)).json()) as { containers: { id: string; state: string }[] };
  return new Map(body.containers.map((c) => [c.id, c.state]));
}

/** Where the agent's inventory and Docker disagree, one line per container. */
export function differences(agent: Map<string, string>, engine: Map<string, string>): string[] {
  const out: string[] = [];
  for (const [id, state] of engine) {
    const mine = agent.get(id);
    if (mine === undefined) out.push(`${id.slice(0, 12)} missing (docker: ${state})`);
    else if (mine !== state) out.push(`${id.slice(0, 12)} agent ${mine}, docker ${state}`);
  }
  for (const [id, state] of agent) if (!engine.has(id)) out.push(`${id.slice(0, 12)} stale (agent: ${state})`);
  return out;
}

/**
 * Polls until the agent's inventory equals `docker ps -a`. Returns the ms from `since` to the
 * first equal comparison, or the differences left when `limitMs` has passed.
 */
export async function convergence(base: string, host: string, since: number, limitMs: number): Promise<{ ms: number; left: string[] }> {
  for (;;) {
    const engine = await dockerStates(host);
    const left = differences(await agentStates(base), engine);
    const ms = Date.now() - since;
    if (left.length === 0 || ms > limitMs) return { ms, left };
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** The samples of one metric family in a Prometheus exposition: label set → value. */
export function series(exposition: string, name: string): Map<string, number> {
  const out = new Map<string, number>();
  for (const m of exposition.matchAll(new RegExp(`^${name}\\{([^}]*)\\} (\\S+)$`, 'gm'))) out.set(m[1] as string, Number(m[2]));
  return out;
}
