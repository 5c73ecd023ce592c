/**
 * Shared pieces for output tests and benchmarks: an OutputConfig from the schema's defaults,
 * numbered JSON events, and a minimal stand-in for the pipeline's retry loop (send, resend the
 * unacknowledged rest until everything is acked).
 */
import { pino } from 'pino';
import type { Logger } from 'pino';
import { loadConfig } from '../../src/configuration.ts';
import type { OutputConfig } from '../../src/outputs/config.ts';
import type { Output, SendOutcome } from '../../src/outputs/types.ts';

const DEFAULT_OUTPUT = loadConfig({ env: {}, checkFiles: false }).config.outputs[0] as OutputConfig;

/** The schema's defaults with `overrides` (tests may go below the schema's minimums, e.g. a 300 ms timeout). */
export function outputConfig(overrides: Partial<OutputConfig>): OutputConfig {
  return { ...DEFAULT_OUTPUT, backoff_base: 20, backoff_max: 200, ...overrides };
}

export const silentLogger: Logger = pino({ level: 'silent' });

/** A logger that keeps its JSON lines, to assert on what was logged. */
export function recordingLogger(): { logger: Logger; lines: Record<string, unknown>[] } {
  const lines: Record<string, unknown>[] = [];
  const logger = pino({ level: 'debug' }, { write: (s: string) => void lines.push(JSON.parse(s) as Record<string, unknown>) });
  return { logger, lines };
}

/** Event `i` of a run: `{"n":i,"tag":…,"message":…}`, padded to about `bytes`. */
export function makeEvent(n: number, tag = 't', bytes = 0): Buffer {
  const base = { n, tag, message: '' };
  const pad = Math.max(0, bytes - JSON.stringify(base).length);
  base.message = 'x'.repeat(pad);
  return Buffer.from(JSON.stringify(base));
}

export function makeEvents(count: number, from = 0, tag = 't', bytes = 0): Buffer[] {
  return Array.from({ length: count }, (_, i) => makeEvent(from + i, tag, bytes));
}

export interface DeliveryReport {
  /** Every outcome send() returned, in order. */
  outcomes: SendOutcome[];
}

/** Sends `events` as one batch, resending the unacknowledged rest after `retryDelayMs` until all are acked (or `maxAttempts`). */
export async function deliver(output: Output, events: readonly Buffer[], options: { retryDelayMs?: number; maxAttempts?: number; signal?: AbortSignal } = {}): Promise<DeliveryReport> {
  const outcomes: SendOutcome[] = [];
  let done = 0;
  const signal = options.signal ?? new AbortController().signal;
  for (let attempt = 0; done < events.length; attempt++) {
    if (attempt >= (options.maxAttempts ?? 50)) throw new Error(`not delivered after ${attempt} attempts: ${JSON.stringify(outcomes.map(describeOutcome))}`);
    const outcome = await output.send(done === 0 ? events : events.slice(done), signal);
    outcomes.push(outcome);
    if (outcome.kind === 'acked') done = events.length;
    else if (outcome.kind === 'fatal') throw new Error(`fatal: ${outcome.error.message}`);
    else {
      done += outcome.acked;
      await new Promise((r) => setTimeout(r, options.retryDelayMs ?? 10));
    }
  }
  return { outcomes };
}

export function describeOutcome(o: SendOutcome): string {
  return o.kind === 'acked' ? 'acked' : `${o.kind}(${o.acked}): ${o.error.message}`;
}

/** A port on 127.0.0.1 with nothing listening (bound and released). */
export async function deadPort(): Promise<number> {
  const { createServer } = await import('node:net');
  const srv = createServer();
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
  const port = (srv.address() as { port: number }).port;
  await new Promise((r) => srv.close(r));
  return port;
}
