/**
 * Runs the built CLI (`dist/main.js`, what `bin.dockhand` points at) as a child process, the way
 * systemd would, and reads its pino JSON log lines.
 */
import { spawn } from 'node:child_process';
import type { ChildProcess, ChildProcessByStdio } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import type { Readable } from 'node:stream';
import { fileURLToPath } from 'node:url';

export const MAIN = fileURLToPath(new URL('../../dist/main.js', import.meta.url));

export function assertBuilt(): void {
  if (!existsSync(MAIN)) throw new Error(`${MAIN} is missing: run \`npm run build\` first (npm test does)`);
}

/**
 * The shebang's environment assignments and node flags (`#!/usr/bin/env -S MALLOC_ARENA_MAX=2
 * node --max-semi-space-size=4 …`), so tests and benches run the agent as production does
 * (they start `process.execPath` themselves: the shebang's `node` may be an older one on PATH).
 */
function shebang(): { env: Record<string, string>; flags: string[] } {
  const first = readFileSync(MAIN, 'utf8').split('\n', 1)[0] ?? '';
  const m = /^#!\S*env -S((?:\s+\w+=\S*)*)\s+node((?:\s+--\S+)*)\s*$/.exec(first);
  if (!m) throw new Error(`unexpected shebang in ${MAIN}: ${first}`);
  const env = Object.fromEntries((m[1] ?? '').trim().split(/\s+/).filter(Boolean).map((a) => [a.slice(0, a.indexOf('=')), a.slice(a.indexOf('=') + 1)]));
  return { env, flags: (m[2] ?? '').trim().split(/\s+/).filter(Boolean) };
}

/**
 * Spawns the built CLI with the shebang's flags and environment (the latter as `env -S` does: over
 * `env`). `prefix` runs it under another command (e.g. `unshare … sh -c '…; exec "$@"'`), which
 * gets the node command line as its trailing arguments.
 */
function spawnMain(args: string[], env: NodeJS.ProcessEnv, prefix: readonly string[] = []): ChildProcessByStdio<null, Readable, Readable> {
  const sb = shebang();
  const command = [...prefix, process.execPath, ...sb.flags, MAIN, ...args];
  return spawn(command[0] ?? process.execPath, command.slice(1), { env: { ...env, ...sb.env }, stdio: ['ignore', 'pipe', 'pipe'] });
}

export interface CliResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

/** Env for the child: the test orchestrator's DOCKHAND_TEST_* vars are kept out on purpose. */
export function cleanEnv(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(process.env)) if (!k.startsWith('DOCKHAND_')) env[k] = v;
  return { ...env, ...extra };
}

export function runCli(args: string[], env: NodeJS.ProcessEnv = cleanEnv(), timeoutMs = 30_000, prefix: readonly string[] = []): Promise<CliResult> {
  assertBuilt();
  return new Promise((resolve, reject) => {
    const child = spawnMain(args, env, prefix);
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (b: Buffer) => (stdout += b.toString()));
    child.stderr.on('data', (b: Buffer) => (stderr += b.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.on('error', reject);
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      resolve({ code, signal, stdout, stderr });
    });
  });
}

export interface LogLine {
  level: string;
  msg: string;
  [key: string]: unknown;
}

export class AgentProcess {
  readonly child: ChildProcess;
  readonly lines: LogLine[] = [];
  stderr = '';
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  #carry = '';

  /**
   * `launcher`: run this executable (e.g. a release's bin/dockhand) instead of the built
   * dist/main.js; `prefix`: run dist/main.js under another command (e.g. `setpriv --reuid …`).
   */
  constructor(args: string[], env: NodeJS.ProcessEnv, launcher?: string, prefix: readonly string[] = []) {
    if (launcher === undefined) assertBuilt();
    this.child = launcher === undefined ? spawnMain(args, env, prefix) : spawn(launcher, args, { env, stdio: ['ignore', 'pipe', 'pipe'] });
    this.child.stdout?.on('data', (b: Buffer) => {
      this.#carry += b.toString();
      let nl: number;
      while ((nl = this.#carry.indexOf('\n')) >= 0) {
        const line = this.#carry.slice(0, nl);
        this.#carry = this.#carry.slice(nl + 1);
        try {
          this.lines.push(JSON.parse(line) as LogLine);
        } catch {
          this.lines.push({ level: 'raw', msg: line });
        }
      }
    });
    this.child.stderr?.on('data', (b: Buffer) => (this.stderr += b.toString()));
    this.exited = new Promise((resolve) => this.child.on('exit', (code, signal) => resolve({ code, signal })));
  }

  find(msg: string): LogLine | undefined {
    return this.lines.find((l) => l.msg === msg);
  }

  /** Kills the process if a test left it running. */
  async dispose(): Promise<void> {
    if (this.child.exitCode === null && this.child.signalCode === null) {
      this.child.kill('SIGKILL');
      await this.exited;
    }
  }
}
