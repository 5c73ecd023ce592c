/** What a container stream needs and reports: its dependencies, its metrics, how a follow ended, what /v1/logs shows. */
import type Docker from 'dockerode';
import type { Logger } from 'pino';
import type { ContainerInventory } from '../../docker/inventory.ts';
import type { ExceptionInspector } from '../../exceptions/inspector.ts';
import type { EventQueue } from '../../pipeline/event-queue.ts';
import type { SyncReads } from '../chunk-reader.ts';
import type { EventEncoder } from '../event-encoder.ts';
import type { LogFileRegistry } from '../registry.ts';
import type { StreamLineSettings } from './stream-lines.ts';

export interface ContainerLogMetrics {
  containerLinesRead(n: number, bytes: number): void;
  containerEventsQueued(n: number): void;
  containerTruncated(): void;
  containerUnreadable(driver: string): void;
}

/** How a follow ended: the end of the stream, the container gone, its driver unreadable, an error to retry, or a stop. */
export type FollowEnd = { kind: 'eof' } | { kind: 'gone' } | { kind: 'unreadable'; reason: string } | { kind: 'error'; reason: string } | { kind: 'stopped' } | { kind: 'stalled' };

export type ContainerStreamState = 'waiting' | 'streaming' | 'ended' | 'unreadable';

/** What /v1/logs shows for one container. */
export interface ContainerStreamView {
  id: string;
  name: string;
  image: string;
  /** Where the bytes come from: the Docker API, or the json-file log read directly (`path`). */
  source: 'api' | 'file';
  path: string | null;
  state: ContainerStreamState;
  reason: string | null;
  driver: string | null;
  tty: boolean | null;
  position: { since: string; skip: number };
  messagesRead: number;
  eventsQueued: number;
  stalls: number;
  /** Messages the daemon sent twice within one follow (its follower re-reading a rotated file), dropped. */
  resentDropped: number;
  pendingMessages: number;
}

export interface ContainerStreamDeps {
  docker: Docker;
  /** Whether the container still runs (a json-file read ends once it has stopped and its file is read). */
  inventory: Pick<ContainerInventory, 'byId'>;
  /** `container_logs.read_from`. */
  readFrom: 'api' | 'files';
  /** Whether json-file reads may still be synchronous (shared by the containers). */
  syncReads?: SyncReads;
  queue: EventQueue;
  encoder: EventEncoder;
  registry: LogFileRegistry;
  settings: StreamLineSettings;
  logger: Logger;
  metrics?: ContainerLogMetrics;
  /** Stack traces in joined events (logs.exceptions); absent = off. */
  exceptions?: ExceptionInspector;
}
