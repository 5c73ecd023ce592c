/**
 * One subscription to Docker's `/events` endpoint: newline-delimited JSON, parsed as it arrives.
 * The caller (DockerWatcher) owns reconnecting and resuming; this only opens, parses and reports
 * how it ended.
 */
import type Docker from 'dockerode';

export interface RawDockerEvent {
  Type: string;
  Action: string;
  Actor: { ID: string; Attributes: Record<string, string> };
  time: number;
  timeNano: number;
  /** timeNano exactly: JSON numbers above 2^53 lose ~256 ns, too coarse to resume and de-duplicate on. */
  nano: bigint;
}

export interface EventSubscription {
  /** Resolves when the stream ends: with the error, or undefined on a clean end (daemon shut down). */
  readonly done: Promise<Error | undefined>;
  close(): void;
}

export interface OpenOptions {
  /** Resume point: Docker's `since`, in ns since the epoch (events at that exact time are re-sent). */
  sinceNano?: bigint;
  signal: AbortSignal;
  onEvent(event: RawDockerEvent): void;
  /** A line that is not a Docker event (counted by the caller, never fatal). */
  onBadLine(line: string): void;
}

/** `since` accepts "<seconds>.<nanoseconds>" (docker/api/types/time.GetTimestamp). */
export function formatSince(nano: bigint): string {
  const s = nano / 1_000_000_000n;
  const ns = nano % 1_000_000_000n;
  return `${s}.${ns.toString().padStart(9, '0')}`;
}

export async function openEventStream(docker: Docker, options: OpenOptions): Promise<EventSubscription> {
  const query: Record<string, unknown> = { filters: JSON.stringify({ type: ['container'] }) };
  if (options.sinceNano !== undefined) query.since = formatSince(options.sinceNano);
  const stream = (await docker.getEvents({ ...query, abortSignal: options.signal })) as NodeJS.ReadableStream & {
    destroy(err?: Error): void;
    setEncoding?: unknown;
  };
  let carry = '';
  const done = new Promise<Error | undefined>((resolve) => {
    let settled = false;
    const finish = (err: Error | undefined): void => {
      if (!settled) {
        settled = true;
        resolve(err);
      }
    };
    stream.on('data', (chunk: Buffer | string) => {
      carry += typeof chunk === 'string' ? chunk : chunk.toString('utf8');
      let nl: number;
      while ((nl = carry.indexOf('\n')) >= 0) {
        const line = carry.slice(0, nl).trim();
        carry = carry.slice(nl + 1);
        if (line) parseLine(line, options);
      }
    });
    stream.on('error', (err: Error) => finish(err));
    stream.on('end', () => finish(undefined));
    stream.on('close', () => finish(undefined));
  });
  return { done, close: () => stream.destroy() };
}

function parseLine(line: string, options: OpenOptions): void {
  let value: unknown;
  try {
    value = JSON.parse(line);
  } catch {
    options.onBadLine(line);
    return;
  }
  if (!isRawEvent(value)) return options.onBadLine(line);
  const exact = /"timeNano":\s*(\d+)/.exec(line);
  value.nano = exact ? BigInt(exact[1] as string) : BigInt(value.time) * 1_000_000_000n;
  options.onEvent(value);
}

function isRawEvent(v: unknown): v is RawDockerEvent {
  // `nano` is filled in by parseLine.
  if (typeof v !== 'object' || v === null) return false;
  const e = v as Partial<RawDockerEvent>;
  return typeof e.Type === 'string' && typeof e.Action === 'string' && typeof e.timeNano === 'number' && typeof e.Actor?.ID === 'string';
}
