/**
 * Encodes log lines and agent/container events as ECS JSON, the shape Filebeat sends to
 * Logstash's beats input (nested objects; `@metadata.beat` is what a Logstash `index =>
 * "%{[@metadata][beat]}-…"` uses), so existing pipelines and dashboards keep working.
 *
 * Per line, in this order (constant parts precomputed once per file in an EncodedPrefix):
 *   {"@timestamp":"…",  ← per line (cached per millisecond)
 *   "@metadata":{…},"event":{"dataset":…},"host":{…},"agent":{…},"ecs":{…},
 *   "container":{…},"labels":{…},"tags":[…],"log":{"file":{"path":…},"offset":   ← prefix
 *   123,"flags":[…]},"message":"…"}   ← per line
 *
 * The hot path (docs/architecture.md, measured with bench/logs.ts): every event is written into a pooled 1 MiB
 * slab and returned as a subarray — no Buffer.from/concat, no string per line; the message is
 * scanned once and copied with one memcpy unless it needs escaping or UTF-8 repair
 * (json-string.ts). The pipeline hands each event back (`release`) once every output acknowledged
 * it, and a slab whose events all came back is reused (slab-pool.ts). Release an event exactly
 * once, and only when nothing will read it again.
 *
 * Container label keys are de-dotted (`com.docker.compose.project` → `com_docker_compose_project`)
 * as Filebeat's add_docker_metadata does by default (`labels.dedot: true`): Elasticsearch would
 * otherwise expand the dots into objects, and `a` next to `a.b` is a mapping conflict.
 */
import type { ContainerEvent, RecordedEvent } from '../docker/types.ts';
import { maxEscapedLength, scanPlain, writeEscaped } from './json-string.ts';
import { markNewlineFramed } from '../outputs/newline-framed.ts';
import { SLAB_BYTES, SlabPool } from './slab-pool.ts';
import type { SlabPoolOptions } from './slab-pool.ts';

export interface FileFields {
  path: string;
  dataset: 'app' | 'tracing' | 'docker.container_logs';
  /** A container's output (src/logs/containers): `stream` and `input.type` instead of `log.file`, `log.timestamp_ns` instead of `log.offset`. */
  stream?: 'stdout' | 'stderr';
  /** ECS `labels.*`: from the file name (see labelsForLogFile). */
  labels: Record<string, string>;
  container: { id: string; name: string; imageName: string; imageTag: string; labels: Record<string, string> } | null;
  tags: readonly string[];
}

/** The constant JSON of one file's events. Opaque: make it with prefixFor, pass it to encodeLine. */
export interface EncodedPrefix {
  readonly fields: Readonly<FileFields>;
  /** @internal The prefix bytes, rebuilt when the encoder's host fields change. */
  bytes: Buffer;
  /** @internal */
  generation: number;
}

export interface EventEncoderOptions {
  hostName: string;
  hostIps: readonly string[];
  agentVersion: string;
  /** The slabs' source and reuse bound (default: allocUnsafeSlow, a few kept): see slab-pool.ts. */
  slabs?: SlabPoolOptions;
}

/** ECS version of the field set (as Filebeat 8.x sends in `ecs.version`). */
export const ECS_VERSION = '8.11.0';
/** Events whose worst case exceeds this get their own buffer instead of a slab slice. */
const SLAB_MAX_EVENT = SLAB_BYTES / 4;
const OPEN = Buffer.from('{"@timestamp":"', 'latin1');
const LOG_FLAGS_OPEN = Buffer.from(',"flags":', 'latin1');
const MESSAGE_OPEN = Buffer.from('},"message":"', 'latin1');
/** Timestamp (24) + offset digits (≤ 16) + `"}` + slack. */
const FIXED_EXTRA = 24 + 16 + 2 + 8;
const MAX_CACHED_FLAGS = 16;

export class EventEncoder {
  #hostName: string;
  #hostIps: readonly string[];
  readonly #agentVersion: string;
  #generation = 0;
  readonly #pool: SlabPool;
  #tsMs = Number.NaN;
  /** `{"@timestamp":"YYYY-MM-DDTHH:MM:SS.mmmZ` of #tsMs (one copy per line for both). */
  #ts = Buffer.from('{"@timestamp":"1970-01-01T00:00:00.000Z', 'latin1');
  #tsSecond = Number.NaN;
  readonly #flagBytes = new Map<readonly string[], Buffer>();
  /** Where encodeLineSpan wrote its event: `spanMemory[spanStart, spanStart + length)`. */
  spanMemory: Buffer = Buffer.alloc(0);
  spanStart = 0;

  constructor(options: EventEncoderOptions) {
    // Every event cut from a slab is followed by a newline (encodeLine): json_lines writes runs of them in place.
    const allocate = options.slabs?.allocate ?? ((bytes: number) => Buffer.allocUnsafeSlow(bytes));
    this.#pool = new SlabPool({
      ...options.slabs,
      allocate: (bytes) => {
        const slab = allocate(bytes);
        markNewlineFramed(slab.buffer);
        return slab;
      },
    });
    this.#hostName = options.hostName;
    this.#hostIps = [...options.hostIps];
    this.#agentVersion = options.agentVersion;
  }

  /** New host fields (e.g. the host's IPs changed); prefixes made earlier are rebuilt on their next use. */
  updateHost(hostName: string, hostIps: readonly string[]): void {
    this.#hostName = hostName;
    this.#hostIps = [...hostIps];
    this.#generation++;
  }

  /** Precomputes the constant JSON of a file's events; call again when its metadata changes. */
  prefixFor(fields: FileFields): EncodedPrefix {
    const copy: FileFields = {
      path: fields.path,
      dataset: fields.dataset,
      labels: { ...fields.labels },
      container: fields.container && { ...fields.container, labels: { ...fields.container.labels } },
      tags: [...fields.tags],
      ...(fields.stream !== undefined ? { stream: fields.stream } : {}),
    };
    return { fields: copy, bytes: this.#prefixBytes(copy), generation: this.#generation };
  }

  /**
   * One line's event: a JSON object as UTF-8, no newline, valid whatever the bytes of `message[from, to)`.
   * The result is a slice of a shared slab, followed there by a newline byte: do not modify it (it
   * may be kept as long as needed).
   * `extra`: JSON members written after `message` (`,"error":{…}` of a stack trace), or null.
   * `subMs` >= 0 appends it as 6 more digits (a container line's `log.timestamp_ns` is its ms then the ns within it).
   */
  encodeLine(prefix: EncodedPrefix, message: Buffer, offset: number, timestampMs: number, flags: readonly string[], from = 0, to = message.length, extra: Buffer | null = null, subMs = -1): Buffer {
    const length = this.encodeLineSpan(prefix, message, offset, timestampMs, flags, from, to, extra, subMs);
    const memory = this.spanMemory;
    const start = this.spanStart;
    return start === 0 && length === memory.length ? memory : memory.subarray(start, start + length);
  }

  /**
   * As encodeLine, without a Buffer view per event (the hot path: the queue takes spans): returns
   * the event's length; it lies at `spanMemory[spanStart…]` until the next call. `spanMemory` is
   * a Buffer over a whole ArrayBuffer (a slab, or the event's own buffer when it is large).
   */
  encodeLineSpan(prefix: EncodedPrefix, message: Buffer, offset: number, timestampMs: number, flags: readonly string[], from = 0, to = message.length, extra: Buffer | null = null, subMs = -1): number {
    if (prefix.generation !== this.#generation) {
      prefix.bytes = this.#prefixBytes(prefix.fields);
      prefix.generation = this.#generation;
    }
    const head = prefix.bytes;
    const flagBytes = flags.length === 0 ? null : this.#flagsJson(flags);
    const plain = scanPlain(message, from, to);
    const bodyMax = plain ? to - from : maxEscapedLength(to - from);
    const worst = OPEN.length + head.length + (flagBytes === null ? 0 : LOG_FLAGS_OPEN.length + flagBytes.length) + MESSAGE_OPEN.length + bodyMax + FIXED_EXTRA + (extra === null ? 0 : extra.length) + (subMs >= 0 ? 6 : 0);

    let out: Buffer;
    let start: number;
    if (worst <= SLAB_MAX_EVENT) {
      out = this.#pool.room(worst);
      start = this.#pool.pos;
    } else {
      // A large event gets its own buffer. For a message needing escapes the worst case is 6x
      // its size; allocUnsafeSlow maps it without touching it, and only the written part is
      // copied out, so the transient cost is the address space, not resident memory.
      out = Buffer.allocUnsafeSlow(worst);
      start = 0;
    }

    let p = this.#writeTimestamp(out, start, timestampMs);
    out.set(head, p);
    p += head.length;
    p = writeInteger(out, p, offset);
    if (subMs >= 0) for (let d = 100_000; d >= 1; d = d / 10) out[p++] = 0x30 + (Math.floor(subMs / d) % 10);
    if (flagBytes !== null) {
      out.set(LOG_FLAGS_OPEN, p);
      p += LOG_FLAGS_OPEN.length;
      out.set(flagBytes, p);
      p += flagBytes.length;
    }
    out.set(MESSAGE_OPEN, p);
    p += MESSAGE_OPEN.length;
    if (plain) {
      p += message.copy(out, p, from, to);
    } else {
      p = writeEscaped(message, out, p, from, to);
    }
    out[p++] = 0x22; // "
    if (extra !== null) {
      out.set(extra, p);
      p += extra.length;
    }
    out[p++] = 0x7d; // }

    if (this.#pool.isCurrent(out)) {
      // the newline after the event is json_lines' framing (outputs/newline-framed.ts); FIXED_EXTRA's slack holds it
      out[p] = 0x0a;
      this.#pool.cut(p + 1);
      this.spanMemory = out;
      this.spanStart = start;
      return p - start;
    }
    this.spanStart = 0;
    if (p === out.length) {
      this.spanMemory = out;
      return p;
    }
    const exact = Buffer.allocUnsafeSlow(p);
    out.copy(exact, 0, 0, p);
    this.spanMemory = exact;
    return p;
  }

  /**
   * The pipeline is done with `event` (every output acknowledged it, or it was dropped): its bytes
   * may be overwritten. Events not cut from a slab (large ones, records) are ignored.
   */
  release(event: Buffer): void {
    this.#pool.release(event.buffer, 1);
  }

  /** `count` events cut from the slab backed by `backing` are done with (a line worker's batched release). */
  releaseFrom(backing: ArrayBufferLike, count: number): void {
    this.#pool.release(backing, count);
  }

  /** Slabs allocated and reused so far (benchmarks, tests). */
  get slabStats(): { allocated: number; reused: number; free: number } {
    return this.#pool.stats;
  }

  /**
   * A container lifecycle event (`event.dataset: docker.event`) or an agent event
   * (`dockhand.agent`). `@timestamp` is when it happened (the event's own time);
   * `event.created` is `timestampMs`, when the agent encoded it. Low rate: JSON.stringify.
   */
  encodeRecord(event: RecordedEvent, timestampMs: number): Buffer {
    const at = Number.isFinite(event.time) ? event.time : timestampMs;
    const common = {
      '@timestamp': isoTime(at),
      '@metadata': this.#metadata(),
    };
    const shared = { host: this.#host(), agent: this.#agent(), ecs: { version: ECS_VERSION } };
    if (event.kind === 'container') {
      const docker: Record<string, unknown> = {};
      if (event.exitCode !== undefined) docker.exit_code = event.exitCode;
      if (event.signal !== undefined) docker.signal = event.signal;
      if (event.health !== undefined) docker.health = event.health;
      const labels = dedot(event.labels);
      return Buffer.from(
        JSON.stringify({
          ...common,
          message: describeContainerEvent(event),
          event: { kind: 'event', dataset: 'docker.event', action: event.action, sequence: event.seq, created: isoTime(timestampMs) },
          ...shared,
          container: {
            id: event.containerId,
            name: event.containerName,
            image: { name: event.image },
            ...(Object.keys(labels).length > 0 ? { labels } : {}),
          },
          ...(Object.keys(docker).length > 0 ? { docker } : {}),
        }),
      );
    }
    return Buffer.from(
      JSON.stringify({
        ...common,
        message: event.message,
        event: { kind: 'event', dataset: 'dockhand.agent', action: event.action, sequence: event.seq, created: isoTime(timestampMs) },
        log: { level: event.level },
        ...shared,
        ...(event.details !== undefined ? { dockhand: { details: event.details } } : {}),
      }),
    );
  }

  #metadata(): Record<string, string> {
    return { beat: 'dockhand', type: '_doc', version: this.#agentVersion };
  }

  #host(): Record<string, unknown> {
    return this.#hostIps.length > 0 ? { name: this.#hostName, ip: this.#hostIps } : { name: this.#hostName };
  }

  #agent(): Record<string, string> {
    return { type: 'dockhand', version: this.#agentVersion, name: this.#hostName };
  }

  #prefixBytes(fields: Readonly<FileFields>): Buffer {
    const constant: Record<string, unknown> = {
      '@metadata': this.#metadata(),
      event: { dataset: fields.dataset },
      host: this.#host(),
      agent: this.#agent(),
      ecs: { version: ECS_VERSION },
    };
    const c = fields.container;
    if (c !== null) {
      const labels = dedot(c.labels);
      constant.container = {
        id: c.id,
        name: c.name,
        image: c.imageTag === '' ? { name: c.imageName } : { name: c.imageName, tag: c.imageTag },
        ...(Object.keys(labels).length > 0 ? { labels } : {}),
      };
    }
    if (Object.keys(fields.labels).length > 0) constant.labels = fields.labels;
    if (fields.tags.length > 0) constant.tags = fields.tags;
    // `{…}` without its braces, between the timestamp and the per-line `log` object.
    const body = JSON.stringify(constant).slice(1, -1);
    const log = fields.stream === undefined ? `"log":{"file":{"path":${JSON.stringify(fields.path)}},"offset":` : `"stream":"${fields.stream}","input":{"type":"container"},"log":{"timestamp_ns":`;
    return Buffer.from(`",${body},${log}`, 'utf8');
  }

  #flagsJson(flags: readonly string[]): Buffer {
    let bytes = this.#flagBytes.get(flags);
    if (bytes === undefined) {
      bytes = Buffer.from(JSON.stringify(flags), 'utf8');
      // Keyed by identity: the multiline joiner passes a few frozen arrays. Fresh arrays from
      // another caller are encoded each time rather than growing the cache.
      if (this.#flagBytes.size < MAX_CACHED_FLAGS) this.#flagBytes.set(flags, bytes);
    }
    return bytes;
  }

  /** Writes `{"@timestamp":"YYYY-MM-DDTHH:MM:SS.mmmZ`; Date#toISOString only once per second. */
  #writeTimestamp(out: Buffer, p: number, ms: number): number {
    if (ms !== this.#tsMs) {
      const t = Number.isFinite(ms) ? Math.trunc(ms) : Date.now();
      const second = Math.floor(t / 1000);
      const ts = OPEN.length;
      if (second !== this.#tsSecond || this.#ts.length !== ts + 24) {
        const iso = isoTime(t);
        if (ts + iso.length !== this.#ts.length) {
          this.#ts = Buffer.alloc(ts + iso.length);
          OPEN.copy(this.#ts, 0);
        }
        this.#ts.write(iso, ts, 'latin1');
        this.#tsSecond = second;
      } else {
        const milli = t - second * 1000;
        this.#ts[ts + 20] = 0x30 + Math.floor(milli / 100);
        this.#ts[ts + 21] = 0x30 + (Math.floor(milli / 10) % 10);
        this.#ts[ts + 22] = 0x30 + (milli % 10);
      }
      this.#tsMs = ms;
    }
    out.set(this.#ts, p);
    return p + this.#ts.length;
  }
}

/** A non-negative safe integer in decimal (anything else is written as 0). */
/** 10^0 … 10^15: a safe integer has at most 16 digits. */
const POWERS_OF_TEN = Array.from({ length: 16 }, (_, i) => 10 ** i);

function writeInteger(out: Buffer, p: number, value: number): number {
  if (!(value >= 0 && value <= Number.MAX_SAFE_INTEGER)) value = 0;
  value = Math.floor(value);
  // Compares, not divisions: counting an 8-digit offset's digits by dividing was ~14 % of
  // encodeLine's own time under bench/logs.
  let digits = 1;
  while (digits < 16 && value >= (POWERS_OF_TEN[digits] as number)) digits++;
  let q = value;
  let k = p + digits - 1;
  // Float division for the digits above 2^31, then int32 arithmetic (cheaper) for the rest.
  for (; q >= 0x80000000; k--) {
    const next = Math.floor(q / 10);
    out[k] = 0x30 + (q - next * 10);
    q = next;
  }
  for (; k >= p; k--) {
    const next = (q / 10) | 0;
    out[k] = 0x30 + (q - next * 10);
    q = next;
  }
  return p + digits;
}

function isoTime(ms: number): string {
  const d = new Date(ms);
  return Number.isNaN(d.getTime()) ? new Date(0).toISOString() : d.toISOString();
}

function dedot(labels: Record<string, string>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(labels)) out[k.replaceAll('.', '_')] = v;
  return out;
}

function describeContainerEvent(e: ContainerEvent): string {
  const who = `container ${e.containerName} (${e.containerId.slice(0, 12)})`;
  switch (e.action) {
    case 'die':
      return `${who} died${e.exitCode !== undefined ? ` with exit code ${e.exitCode}` : ''}`;
    case 'kill':
      return `${who} was sent ${e.signal ?? 'a signal'}`;
    case 'health_status':
      return `${who} is ${e.health ?? 'of unknown health'}`;
    case 'oom':
      return `${who} ran out of memory`;
    default:
      return `${who}: ${e.action}`;
  }
}
