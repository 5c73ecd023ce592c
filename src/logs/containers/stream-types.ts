/** What a container stream reports: its metrics, how a follow ended, what /v1/logs shows. */

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
