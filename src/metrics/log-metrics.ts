/**
 * `dockhand_log_*` and `dockhand_pipeline_*` series (outputs count their own `dockhand_output_*`): counters fed by the
 * collector and the pipeline as things happen, gauges read from a snapshot at scrape time.
 * Per-file lag carries the file path as a label only for files currently followed; the
 * collector forgets shipped, deleted files, so the series set stays bounded by open work.
 */
import { Counter, Gauge } from 'prom-client';
import type { Registry } from 'prom-client';
import type { LogGaugeSnapshot, LogShippingMetrics } from '../logs/log-shipping.ts';

/**
 * Why events are dropped: Logstash rejected them (src/pipeline/pipeline.ts), or the Docker event
 * backlog was full (src/logs/log-shipping.ts). Their series exist at 0 from the start, so that
 * `increase()` sees the first drop (deploy/prometheus/dockhand-rules.yml alerts on it).
 */
export const DROP_REASONS = ['rejected', 'event_backlog_full'] as const;

interface SourceCounters {
  lines: Counter.Internal;
  bytes: Counter.Internal;
  queued: Counter.Internal;
  truncated: Counter.Internal;
}

/** Docker's log drivers: the `driver` label takes these values only (anything else is `other`). */
const LOG_DRIVERS = new Set(['none', 'json-file', 'local', 'journald', 'syslog', 'gelf', 'fluentd', 'awslogs', 'splunk', 'etwlogs', 'gcplogs', 'logentries']);

export class LogMetrics implements LogShippingMetrics {
  readonly #lines: Counter<'source'>;
  readonly #bytes: Counter<'source'>;
  readonly #queued: Counter<'source'>;
  readonly #acked: Counter;
  readonly #ackedBytes: Counter;
  readonly #dropped: Counter<'reason'>;
  readonly #retried: Counter;
  readonly #unparsed: Counter;
  readonly #truncated: Counter<'source'>;
  /** Children per `source` (file, container): labels() looked up once, not per read step. */
  readonly #bySource: Record<'file' | 'container', SourceCounters>;
  readonly #unreadable: Counter<'driver'>;
  readonly #fileEvents: Counter<'event'>;
  readonly #lost: Counter;
  readonly #expired: Counter;
  readonly #exceptions: Counter<'app'>;

  constructor(registry: Registry, snapshot: () => LogGaugeSnapshot) {
    const registers = [registry];
    const labelNames = ['source'] as const;
    this.#lines = new Counter({ name: 'dockhand_log_lines_read_total', help: 'Lines read, by source: log files (file) or containers\' stdout/stderr (container, one per Docker message).', labelNames, registers });
    this.#bytes = new Counter({ name: 'dockhand_log_bytes_read_total', help: 'Bytes read, by source (file; container: the Docker API stream, framing included).', labelNames, registers });
    this.#queued = new Counter({ name: 'dockhand_log_events_queued_total', help: 'Log events (after multiline joining) put in the pipeline, by source.', labelNames, registers });
    this.#acked = new Counter({ name: 'dockhand_log_events_acked_total', help: 'Events acknowledged by every output (log lines and Docker events).', registers });
    this.#ackedBytes = new Counter({ name: 'dockhand_log_event_bytes_acked_total', help: 'Encoded bytes of acknowledged events.', registers });
    this.#dropped = new Counter({ name: 'dockhand_log_events_dropped_total', help: 'Events dropped, by reason (rejected by Logstash, event backlog full).', labelNames: ['reason'], registers });
    for (const reason of DROP_REASONS) this.#dropped.inc({ reason }, 0);
    this.#retried = new Counter({ name: 'dockhand_log_events_retried_total', help: 'Events sent again after a failed or partial batch.', registers });
    this.#unparsed = new Counter({ name: 'dockhand_log_filename_unparsed_total', help: 'Log files whose name does not follow the naming convention (shipped tagged _filename_unparsed).', registers });
    this.#truncated = new Counter({ name: 'dockhand_log_lines_truncated_total', help: 'Events cut at logs.max_line_bytes (file) or container_logs.max_line_bytes (container), by source.', labelNames, registers });
    const children = (source: 'file' | 'container'): SourceCounters => ({
      lines: this.#lines.labels(source),
      bytes: this.#bytes.labels(source),
      queued: this.#queued.labels(source),
      truncated: this.#truncated.labels(source),
    });
    this.#bySource = { file: children('file'), container: children('container') };
    for (const c of [this.#bySource.file, this.#bySource.container]) for (const counter of [c.lines, c.bytes, c.queued, c.truncated]) counter.inc(0);
    this.#unreadable = new Counter({ name: 'dockhand_log_containers_unreadable_total', help: 'Containers whose output cannot be read through the Docker API (log driver none, syslog or gelf without dual logging), by log driver; each counted once.', labelNames: ['driver'], registers });
    this.#fileEvents = new Counter({ name: 'dockhand_log_file_events_total', help: 'Files opened, closed, truncated, rotated, deleted, released.', labelNames: ['event'], registers });
    this.#lost = new Counter({ name: 'dockhand_log_bytes_lost_total', help: 'Unread bytes of deleted files released while held open too long.', registers });
    this.#exceptions = new Counter({ name: 'dockhand_log_exceptions_total', help: 'Stack traces found in log events, by application (at most logs.exceptions.max_apps names, the rest "other").', labelNames: ['app'], registers });
    this.#expired = new Counter({ name: 'dockhand_log_offsets_expired_total', help: 'Saved offsets dropped from the registry because their file no longer exists.', registers });

    const gauge = (name: string, help: string, read: (s: LogGaugeSnapshot) => number): void => {
      new Gauge({
        name,
        help,
        registers,
        collect() {
          this.set(read(snapshot()));
        },
      });
    };
    gauge('dockhand_pipeline_events_queued', 'Events waiting in memory for an output.', (s) => s.queuedEvents);
    gauge('dockhand_pipeline_bytes_queued', 'Bytes waiting in memory for an output.', (s) => s.queuedBytes);
    gauge('dockhand_pipeline_batches_in_flight', 'Batches sent and not yet acknowledged.', (s) => s.batchesInFlight);
    gauge('dockhand_log_shipping_stalled', '1 while events wait and no ACK came for logs.stall_warning.', (s) => (s.stalled ? 1 : 0));
    gauge('dockhand_log_last_ack_age_seconds', 'Seconds since the last acknowledgement (-1 before the first).', (s) => (s.lastAckAt === null ? -1 : (Date.now() - s.lastAckAt) / 1000));
    gauge('dockhand_log_files_open', 'Log files held open.', (s) => s.openFiles);
    gauge('dockhand_log_files_tracked', 'Log files followed (open or closed while idle).', (s) => s.trackedFiles);
    gauge('dockhand_log_line_workers', 'Line worker threads running (logs.workers; started while a file has a backlog).', (s) => s.lineWorkers);
    gauge('dockhand_log_files_on_line_workers', 'Log files whose lines are split, joined and encoded on a line worker.', (s) => s.filesOnLineWorkers);
    gauge('dockhand_log_watched_directories', 'Directories with a file-system watch.', (s) => s.watchedDirectories);
    gauge('dockhand_log_container_streams', 'Containers whose stdout/stderr is followed through the Docker API.', (s) => s.containerStreams);
    gauge('dockhand_log_container_pending_messages', 'Docker messages read from containers and not yet acknowledged by Logstash (all containers).', (s) => s.containerPending);
    new Gauge({
      name: 'dockhand_log_lag_bytes',
      help: 'Bytes of a followed file not yet acknowledged by Logstash.',
      labelNames: ['path'],
      registers,
      collect() {
        this.reset();
        for (const [path, lag] of snapshot().lags) this.set({ path }, lag);
      },
    });
  }

  exceptionSeen(app: string): void {
    this.#exceptions.inc({ app });
  }

  linesRead(n: number, bytes: number): void {
    this.#bySource.file.lines.inc(n);
    this.#bySource.file.bytes.inc(bytes);
  }

  eventsQueued(n: number): void {
    this.#bySource.file.queued.inc(n);
  }

  containerLinesRead(n: number, bytes: number): void {
    this.#bySource.container.lines.inc(n);
    this.#bySource.container.bytes.inc(bytes);
  }

  containerEventsQueued(n: number): void {
    this.#bySource.container.queued.inc(n);
  }

  containerTruncated(): void {
    this.#bySource.container.truncated.inc();
  }

  containerUnreadable(driver: string): void {
    this.#unreadable.inc({ driver: LOG_DRIVERS.has(driver) ? driver : 'other' });
  }

  unparsedName(): void {
    this.#unparsed.inc();
  }

  truncatedLine(): void {
    this.#bySource.file.truncated.inc();
  }

  fileEvent(event: 'opened' | 'closed' | 'truncated' | 'rotated' | 'deleted' | 'released'): void {
    this.#fileEvents.inc({ event });
  }

  bytesLost(n: number): void {
    this.#lost.inc(n);
  }

  offsetsExpired(n: number): void {
    this.#expired.inc(n);
  }

  acked(events: number, bytes: number): void {
    this.#acked.inc(events);
    this.#ackedBytes.inc(bytes);
  }

  dropped(events: number, reason: string): void {
    this.#dropped.inc({ reason }, events);
  }

  retried(events: number): void {
    this.#retried.inc(events);
  }
}
