/**
 * The Docker I/O of a restart: `POST /containers/{id}/restart?t=<stop timeout>` (the same call
 * as `docker restart -t`), and when that fails for any reason but "no such container", a kill
 * followed by a start — a daemon that cannot stop a wedged container gracefully can usually still
 * SIGKILL it. Returns what happened; never throws.
 */
import type Docker from 'dockerode';
import { errorMessage } from '../core/errors.ts';
import { deadline } from '../core/timers.ts';
import { isNotFound } from '../docker/client.ts';

export interface RestartOutcome {
  ok: boolean;
  method: 'restart' | 'kill+start';
  durationMs: number;
  /** Why the restart (and its fallback) failed. */
  error?: string;
  /** The container no longer exists. */
  gone?: boolean;
}

/** What the restart controller needs to restart a container (RestartExecutor; tests script it). */
export interface RestartRunner {
  restart(id: string, stopTimeoutMs: number): Promise<RestartOutcome>;
}

export interface RestartExecutorOptions {
  docker: Docker;
  /** Bound on the Docker call beyond the stop timeout itself. */
  callTimeoutMs: number;
}

function statusCode(err: unknown): number | undefined {
  const code = typeof err === 'object' && err !== null ? (err as { statusCode?: unknown }).statusCode : undefined;
  return typeof code === 'number' ? code : undefined;
}

export class RestartExecutor implements RestartRunner {
  readonly #o: RestartExecutorOptions;

  constructor(options: RestartExecutorOptions) {
    this.#o = options;
  }

  async restart(id: string, stopTimeoutMs: number): Promise<RestartOutcome> {
    const started = performance.now();
    const container = this.#o.docker.getContainer(id);
    // The API takes whole seconds; round up so a 500ms label still gives the process time.
    const t = Math.ceil(stopTimeoutMs / 1000);
    let first: unknown;
    try {
      await container.restart({ t, abortSignal: deadline(stopTimeoutMs + this.#o.callTimeoutMs) });
      return { ok: true, method: 'restart', durationMs: performance.now() - started };
    } catch (err) {
      if (isNotFound(err)) return { ok: false, method: 'restart', durationMs: performance.now() - started, error: 'no such container', gone: true };
      first = err;
    }
    try {
      await container.kill({ abortSignal: deadline(this.#o.callTimeoutMs) }).catch((err: unknown) => {
        // 409: not running — nothing to kill, go on to start it
        if (statusCode(err) !== 409) throw err;
      });
      await container.start({ abortSignal: deadline(this.#o.callTimeoutMs) }).catch((err: unknown) => {
        // 304: already started (by Docker or someone else meanwhile) — the goal is reached
        if (statusCode(err) !== 304) throw err;
      });
      return { ok: true, method: 'kill+start', durationMs: performance.now() - started, error: `restart failed first: ${errorMessage(first)}` };
    } catch (err) {
      return {
        ok: false,
        method: 'kill+start',
        durationMs: performance.now() - started,
        error: `restart: ${errorMessage(first)}; kill+start: ${errorMessage(err)}`,
        ...(isNotFound(err) ? { gone: true } : {}),
      };
    }
  }
}
