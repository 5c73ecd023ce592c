/**
 * One container's stdout/stderr, followed through `GET /containers/{id}/logs?follow=1&
 * timestamps=1&since=…` from its acknowledged position (positions.ts) to the end of the stream
 * (the container stopped; a removed container's stream is read to its end too: the daemon drains
 * the log before it closes the stream), on a connection of its own (src/docker/raw-stream.ts: the
 * body de-framed per socket read, not per line). Messages → lines per stream (stream-lines.ts) → ECS
 * events (`event.dataset: docker.container_logs`, `input.type: container`, `stream`,
 * `container.*`, `@timestamp` and `log.timestamp_ns` from Docker's own timestamp) → the shared
 * EventQueue, acknowledged into the same registry as the files. The body is read a batch of socket
 * reads at a time (body-batches.ts): a full queue pauses reading and the socket holds the daemon
 * back (backpressure). A joined event goes through the exception inspector as a file's does,
 * counted for the container (docs/exceptions.md).
 */
import { rawGet } from '../../docker/raw-stream.ts';
import type { RawBody } from '../../docker/raw-stream.ts';
import type { ContainerRecord } from '../../docker/types.ts';
import type { EncodedPrefix } from '../event-encoder.ts';
import type { JoinedEvent } from '../multiline.ts';
import type { ContainerOffsetState } from '../registry.ts';
import { readBatches } from './body-batches.ts';
import { classifyFollowError, dockerNewest, lookForStall } from './docker-query.ts';
import { DockerLogParser } from './docker-stream.ts';
import { later } from './docker-time.ts';
import type { DockerTime } from './docker-time.ts';
import { JsonLogFiles, readableJsonLog } from './json-log-files.ts';
import { JsonLogParser } from './json-log-parser.ts';
import { ContainerPositions } from './positions.ts';
import { Resends, SeenTimes } from './seen-times.ts';
import { StreamLines } from './stream-lines.ts';
import type { ContainerStreamDeps, ContainerStreamState, ContainerStreamView, FollowEnd } from './stream-types.ts';

export type { ContainerLogMetrics, ContainerStreamDeps, ContainerStreamState, ContainerStreamView, FollowEnd } from './stream-types.ts';

/** Log drivers that keep nothing to read back (without Docker's dual logging the others answer "does not support reading"). */
const NOTHING_KEPT = new Set(['none']);

export class ContainerStream {
  readonly id: string;
  record: ContainerRecord;
  state: ContainerStreamState = 'waiting';
  reason: string | null = null;
  driver: string | null = null;
  tty: boolean | null = null;
  /** Where the last follow read from; with `read_from: files`, why a container is read through the API. */
  source: 'api' | 'file' = 'api';
  fileNote: string | null = null;
  #files: JsonLogFiles | undefined;
  /** `startedAt` of the run whose output was read to its end (no reopen until the container starts again). */
  drainedRun: string | null | undefined;
  endedAt = 0;
  retryAt = 0;
  failures = 0;
  messagesRead = 0;
  eventsQueued = 0;
  /** Follows given up because Docker stopped sending while it kept newer output (then reopened). */
  stalls = 0;
  /** Time of the last message read (seconds, nanoseconds), when the last chunk arrived, when a stall was last looked for. */
  lastSec = 0;
  lastNanos = 0;
  lastDataAt = 0;
  stallCheckedAt = 0;
  #stalled = false;
  /**
   * Times of the messages read in the last seconds (seconds → nanoseconds), from the position's
   * `since` on: after a quiet spell, the count Docker holds from `since` is compared with it — a
   * follow that jumped over part of a rotated file shows as more messages than were read, and is
   * reopened, dropping exactly the messages read already.
   */
  #seen = new SeenTimes();
  /** Follows reopened because Docker held messages the follow had skipped. */
  gaps = 0;
  /** `lastDataAt` when Docker's messages were last counted against the ones read (no new reads: no new gap). */
  #gapCheckedFor = -1;
  /** Messages the daemon sent a second time in one follow (re-sent after a rotation), dropped. */
  resentDropped = 0;
  #resends = new Resends();
  readonly saved: ContainerOffsetState;
  #positions: ContainerPositions;
  #lines: [StreamLines, StreamLines] | undefined;
  #prefixes: [EncodedPrefix, EncodedPrefix] | undefined;
  readonly #d: ContainerStreamDeps;
  #abort: AbortController | undefined;
  /** A stop: waits for queue space give up. */
  #closing = false;
  /** Encoded events and their ack sequence numbers, waiting to be queued. */
  #out: Buffer[] = [];
  #seqs: number[] = [];
  #now = Date.now();
  /** A read step is queuing events: a multiline timeout flush waits for the next sweep. */
  busy = false;

  constructor(record: ContainerRecord, deps: ContainerStreamDeps) {
    this.id = record.id;
    this.record = record;
    this.#d = deps;
    const known = deps.registry.getContainer(record.id);
    this.saved = known ?? deps.registry.putContainer({ id: record.id, name: record.name, since: 0, skip: 0, lastSec: 0, lastNanos: 0, updatedAt: Date.now() });
    this.#positions = this.#newPositions();
  }

  /** Docker messages read and not yet acknowledged. */
  get pending(): number {
    return this.#positions.pending;
  }

  get following(): boolean {
    return this.#abort !== undefined;
  }

  view(): ContainerStreamView {
    return {
      id: this.id,
      name: this.record.name,
      image: this.record.image,
      source: this.source,
      path: this.source === 'file' ? (this.#files?.path ?? null) : null,
      state: this.state,
      reason: this.reason ?? this.fileNote,
      driver: this.driver,
      tty: this.tty,
      position: { since: new Date(this.saved.since * 1000).toISOString(), skip: this.saved.skip },
      messagesRead: this.messagesRead,
      eventsQueued: this.eventsQueued,
      stalls: this.stalls + this.gaps,
      resentDropped: this.resentDropped,
      pendingMessages: this.pending,
    };
  }

  /** The container stopped or went away: a json-file follow looks at once whether it has read everything. */
  wake(): void {
    this.#files?.wake();
  }

  /** Stops a follow in progress (what was read stays unacknowledged unless it is shipped). */
  abort(): void {
    this.#closing = true;
    this.#abort?.abort();
  }

  /** Opens the stream from the acknowledged position and reads it to its end. Call only with nothing pending. */
  async follow(): Promise<FollowEnd> {
    const abort = (this.#abort = new AbortController());
    let end: FollowEnd;
    try {
      end = await this.#follow(abort.signal);
    } catch (err) {
      end = abort.signal.aborted ? (this.#stalled ? { kind: 'stalled' } : { kind: 'stopped' }) : classifyFollowError(err);
    }
    try {
      // Given up mid-stream (a stall, a broken connection): what was read and is still held (a
      // multiline event, a line in pieces) is shipped now — the stream is reopened only once
      // everything read is acknowledged, and the reopen drops what was read.
      if (end.kind === 'stalled' || end.kind === 'error') await this.#flushHeld();
    } finally {
      this.#stalled = false;
      this.#abort = undefined;
      this.busy = false;
    }
    return end;
  }

  async #flushHeld(): Promise<void> {
    if (this.#lines === undefined) return;
    this.#now = Date.now();
    for (const l of this.#lines) l.flush(this.#now);
    await this.#drainOut();
  }

  /**
   * Whether the follow is stuck: nothing arrived for a while, yet Docker holds a message newer
   * than the last one read (json-file's follower can lose its place when the file rotates under
   * a reader that opened mid-rotation). Then the follow is given up; it is reopened from the
   * acknowledged position once everything read is acknowledged.
   */
  async checkStalled(): Promise<boolean> {
    const abort = this.#abort;
    if (abort === undefined || this.busy || this.source === 'file') return false;
    // A gap (messages skipped, later ones delivered) can only be new if something was read since
    // the last look: what Docker holds from the oldest time kept is counted once per quiet spell.
    const lookForGap = this.lastDataAt !== this.#gapCheckedFor;
    const readAt = this.lastDataAt;
    this.#trimSeen();
    // The lookup is built when Docker's answer arrives, so it includes what the follow read meanwhile.
    let seen: ((sec: number, nanos: number) => boolean) | undefined;
    const known = (sec: number, nanos: number): boolean => (seen ??= this.#seen.lookup())(sec, nanos);
    const quiet = (): boolean => this.#abort === abort && Date.now() - this.lastDataAt > 1000;
    const verdict = await lookForStall(this.#d.docker, this.id, this.tty ?? false, { sec: this.lastSec, nanos: this.lastNanos }, lookForGap ? Math.min(this.#seen.oldestSec, this.lastSec) : null, known, quiet, abort.signal);
    if (verdict === null) return false;
    if (lookForGap && !verdict.stuck) this.#gapCheckedFor = readAt;
    if (!verdict.stuck && !verdict.gap) return false;
    if (verdict.stuck) this.stalls++;
    else this.gaps++;
    this.#stalled = true;
    abort.abort();
    return true;
  }

  /** Drops times before the position's `since` (or over 10 s older than the last message): not needed to tell a gap. */
  #trimSeen(): void {
    this.#seen.trim(Math.max(this.saved.since, this.lastSec - 10));
  }

  /** Emits multiline events whose timeout passed (once a second, between read steps). */
  async flushDue(now: number): Promise<void> {
    if (this.busy || this.#lines === undefined || !this.following) return;
    this.#now = now;
    for (const l of this.#lines) l.flushIfDue(now);
    await this.#drainOut();
  }

  async #follow(signal: AbortSignal): Promise<FollowEnd> {
    // Until the file is known to be unreadable: no stall checks (they ask the API about its follow).
    this.source = this.#d.readFrom === 'files' ? 'file' : 'api';
    const info = await this.#d.docker.getContainer(this.id).inspect({ abortSignal: signal });
    this.driver = info.HostConfig.LogConfig?.Type ?? null;
    this.tty = info.Config.Tty;
    if (this.driver !== null && NOTHING_KEPT.has(this.driver)) return { kind: 'unreadable', reason: `log driver "${this.driver}" keeps no output to read` };
    this.#positions = this.#newPositions();
    this.#resends = new Resends();
    const settings = this.#d.settings;
    this.#lines = [new StreamLines(settings, (ev, idx, ms, subMs) => this.#event(0, ev, idx, ms, subMs)), new StreamLines(settings, (ev, idx, ms, subMs) => this.#event(1, ev, idx, ms, subMs))];
    this.#prefixes = undefined;
    const since = this.saved.since;
    const file = this.#d.readFrom === 'files' ? await readableJsonLog(info) : null;
    const note = file !== null && 'why' in file ? `read through the API: ${file.why}` : null;
    if (note !== null && note !== this.fileNote) this.#d.logger.warn({ event: 'logs.container_file_unread', container: this.record.name, id: this.id, reason: note }, `container_logs.read_from is files, but the output of container ${this.record.name} is ${note}`);
    this.fileNote = note;
    if (file !== null && 'path' in file) return this.#followFile(file.path, since, signal);
    this.source = 'api';
    const body = await rawGet(this.#d.docker, `/containers/${encodeURIComponent(this.id)}/logs?follow=1&stdout=1&stderr=1&timestamps=1&since=${since}`, signal);
    this.state = 'streaming';
    this.reason = null;
    const parser = new DockerLogParser(this.tty, (stream, buf, from, to, partial, ts) => this.#message(stream, buf, from, to, partial, ts));
    this.lastDataAt = Date.now();
    await this.#read(body, parser, signal);
    if (signal.aborted) return this.#stalled ? { kind: 'stalled' } : { kind: 'stopped' };
    parser.end();
    await this.#flushHeld();
    // Docker 20.10 can end a follow early when the container stops while the reader is behind:
    // if it still holds newer output, reopen from the acknowledged position.
    const early = await dockerNewest(this.#d.docker, this.id, this.tty ?? false, signal).then((n) => later(n, { sec: this.lastSec, nanos: this.lastNanos })).catch(() => false);
    if (early) {
      this.stalls++;
      return { kind: 'stalled' };
    }
    return { kind: 'eof' };
  }

  /** Reads the json-file log (json-log-files.ts) until the container has stopped and all of it is read. */
  async #followFile(path: string, since: number, signal: AbortSignal): Promise<FollowEnd> {
    this.state = 'streaming';
    this.reason = null;
    const parser = new JsonLogParser(this.tty ?? false, since, (stream, buf, from, to, partial, ts) => this.#message(stream, buf, from, to, partial, ts));
    this.lastDataAt = Date.now();
    const files = (this.#files = new JsonLogFiles(path, since, {
      entries: (buf, from, to) => this.#parsed(() => parser.parse(buf, from, to), (end) => end - from),
      drain: async () => {
        await this.#drainOut();
        this.busy = false;
      },
      running: () => isRunning(this.#d.inventory.byId(this.id)),
    }, signal, this.#d.syncReads));
    await files.run();
    if (parser.badLines > 0) this.#d.logger.warn({ container: this.record.name, id: this.id, path, lines: parser.badLines }, 'lines of a json-file log that are not log entries were skipped');
    if (signal.aborted) return { kind: 'stopped' };
    await this.#flushHeld();
    return { kind: 'eof' };
  }

  /** Input arrived: `parse` turns it into messages (then events); counted as `bytes(result)` bytes read. */
  #parsed(parse: () => number, bytes: (result: number) => number): number {
    this.busy = true;
    this.#now = this.lastDataAt = Date.now();
    const before = this.messagesRead;
    const result = parse();
    this.#d.metrics?.containerLinesRead(this.messagesRead - before, bytes(result));
    this.#trimSeen();
    return result;
  }

  /** Reads the body to its end, a batch of socket reads at a time (body-batches.ts). */
  #read(body: RawBody, parser: DockerLogParser, signal: AbortSignal): Promise<void> {
    return readBatches(body, signal, {
      batch: (chunks) => {
        this.#parsed(() => chunks.reduce((bytes, chunk) => (parser.push(chunk), bytes + chunk.length), 0), (bytes) => bytes);
        return this.#drainOut();
      },
      full: () => this.#d.queue.full,
      idle: () => {
        this.busy = false;
      },
    });
  }

  #message(stream: 1 | 2, buf: Buffer, from: number, to: number, partial: boolean, ts: DockerTime): void {
    if (this.#resends.resent(stream === 1 ? 0 : 1, ts, this.saved.since, this.#seen)) {
      this.resentDropped++;
      return;
    }
    if (ts.sec > this.lastSec || (ts.sec === this.lastSec && ts.nanos > this.lastNanos)) {
      this.lastSec = ts.sec;
      this.lastNanos = ts.nanos;
    }
    this.#seen.add(ts.sec, ts.nanos);
    const index = this.#positions.message(ts.sec, ts.nanos);
    if (index < 0) return; // already shipped before a restart
    this.messagesRead++;
    const lines = this.#lines as [StreamLines, StreamLines];
    (stream === 1 ? lines[0] : lines[1]).message(buf, from, to, partial, ts, index, this.#now);
  }

  #event(stream: 0 | 1, ev: JoinedEvent, indices: number[], ms: number, subMs: number): void {
    if (ev.to === ev.from) {
      this.#positions.settle(indices);
      return;
    }
    if (ev.flags.includes('truncated')) this.#d.metrics?.containerTruncated();
    const prefix = this.#prefixFor(stream);
    // As for files: only an event joined from several lines can be a trace (one comparison for the rest).
    const exceptions = this.#d.exceptions;
    const extra = ev.lines > 1 && exceptions !== undefined ? exceptions.inspect(this.record.name, this.record, ev.buf, ev.from, ev.to, this.#now) : null;
    this.#out.push(this.#d.encoder.encodeLine(prefix, ev.buf, ms, ms, ev.flags, ev.from, ev.to, extra, subMs));
    this.#seqs.push(this.#positions.register(indices));
  }

  async #drainOut(): Promise<void> {
    const out = this.#out;
    const seqs = this.#seqs;
    if (out.length === 0) return;
    this.#out = [];
    this.#seqs = [];
    const queue = this.#d.queue;
    const positions = this.#positions;
    for (let i = 0; i < out.length; i++) {
      while (!queue.push(out[i] as Buffer, positions, seqs[i] as number)) {
        if (this.#closing) return;
        await queue.whenWritable();
      }
    }
    this.eventsQueued += out.length;
    this.#d.metrics?.containerEventsQueued(out.length);
  }

  #prefixFor(stream: 0 | 1): EncodedPrefix {
    if (this.#prefixes === undefined) {
      const r = this.record;
      const fields = (s: 'stdout' | 'stderr'): EncodedPrefix =>
        this.#d.encoder.prefixFor({
          path: '',
          dataset: 'docker.container_logs',
          labels: {},
          container: { id: r.id, name: r.name, imageName: r.image, imageTag: r.imageTag, labels: r.labels },
          tags: [],
          stream: s,
        });
      this.#prefixes = [fields('stdout'), fields('stderr')];
    }
    return this.#prefixes[stream];
  }

  /** The container's metadata changed (a rename): events from now on say so. */
  updateRecord(record: ContainerRecord): void {
    if (record.name !== this.record.name || JSON.stringify(record.labels) !== JSON.stringify(this.record.labels)) this.#prefixes = undefined;
    this.record = record;
    this.saved.name = record.name;
  }

  #newPositions(): ContainerPositions {
    const saved = this.saved;
    // Reopened in this process: drop exactly the messages read before (everything read was
    // acknowledged before a reopen), whatever Docker rotated away meanwhile. After a restart: `skip`.
    const repair = this.#seen.size > 0 ? this.#seen.lookup() : undefined;
    this.#seen = new SeenTimes();
    const shipped = repair === undefined ? undefined : (sec: number, nanos: number): boolean => repair(sec, nanos) || sec < saved.since;
    return new ContainerPositions({ since: saved.since, skip: saved.skip, lastSec: saved.lastSec, lastNanos: saved.lastNanos }, (position) => this.#d.registry.commitContainer(saved, position), shipped);
  }
}

export function isRunning(record: ContainerRecord | undefined): boolean {
  return record !== undefined && (record.state === 'running' || record.state === 'paused' || record.state === 'restarting');
}
