/**
 * One-off questions to the Docker API about a container's stored output, to check a follow
 * against it: the newest message's time (`tail=1`: the daemon reads the log backwards), and
 * whether it holds messages from a given second on that the follow did not deliver. The answer
 * can be megabytes of log: it is parsed as it arrives (raw-stream.ts), never held whole.
 */
import type Docker from 'dockerode';
import { errorMessage } from '../../core/errors.ts';
import { rawGet } from '../../docker/raw-stream.ts';
import { DockerLogParser } from './docker-stream.ts';
import { later } from './docker-time.ts';
import type { DockerTime } from './docker-time.ts';
import type { FollowEnd } from './stream-types.ts';

/** Reads `GET /containers/{id}/logs?<query>` (not followed) through `parser`, to its end. */
async function readLogs(docker: Docker, id: string, query: string, parser: DockerLogParser, signal: AbortSignal): Promise<void> {
  const body = await rawGet(docker, `/containers/${encodeURIComponent(id)}/logs?stdout=1&stderr=1&timestamps=1&${query}`, signal);
  await new Promise<void>((resolve, reject) => {
    body.on('data', (chunk: Buffer) => parser.push(chunk));
    body.on('end', resolve);
    body.on('error', reject);
    body.on('close', () => reject(new Error('the Docker API closed the log stream')));
    body.start();
  });
  parser.end();
}

/** The time of the newest message Docker holds (0 when none). */
export async function dockerNewest(docker: Docker, id: string, tty: boolean, signal: AbortSignal): Promise<DockerTime> {
  const newest = { sec: 0, nanos: 0 };
  const parser = new DockerLogParser(tty, (_s, _b, _f, _t, _p, ts) => {
    if (later(ts, newest)) Object.assign(newest, ts);
  });
  await readLogs(docker, id, 'tail=1', parser, signal);
  return newest;
}

/** What Docker holds from `since` (whole seconds) on: how many messages `known` does not know, and the newest one's time. */
export async function dockerSince(docker: Docker, id: string, tty: boolean, since: number, known: (sec: number, nanos: number) => boolean, signal: AbortSignal): Promise<{ unknown: number; newest: DockerTime }> {
  const newest = { sec: 0, nanos: 0 };
  let unknown = 0;
  const parser = new DockerLogParser(tty, (_s, _b, _f, _t, _p, ts) => {
    if (ts.sec >= since && !known(ts.sec, ts.nanos)) unknown++;
    if (later(ts, newest)) Object.assign(newest, ts);
  });
  await readLogs(docker, id, `since=${since}`, parser, signal);
  return { unknown, newest };
}

/**
 * Whether a quiet follow is stuck (Docker holds a message newer than `last`: `tail=1`, cheap) or
 * has a gap (Docker holds messages from `gapFrom` on that `known` does not know — asked only when
 * `gapFrom` is given, as that reads everything from there). `quiet()` is asked after each answer:
 * when the follow read something meanwhile, the verdict is void (null).
 */
export async function lookForStall(docker: Docker, id: string, tty: boolean, last: DockerTime, gapFrom: number | null, known: (sec: number, nanos: number) => boolean, quiet: () => boolean, signal: AbortSignal): Promise<{ stuck: boolean; gap: boolean } | null> {
  const newest = await dockerNewest(docker, id, tty, signal);
  if (!quiet()) return null;
  if (later(newest, last)) return { stuck: true, gap: false };
  if (gapFrom === null) return { stuck: false, gap: false };
  const held = await dockerSince(docker, id, tty, gapFrom, known, signal);
  if (!quiet()) return null;
  return { stuck: later(held.newest, last), gap: held.unknown > 0 };
}

/** How a follow that threw ended: the container gone, its driver unreadable, or an error to retry. */
export function classifyFollowError(err: unknown): FollowEnd {
  const status = (err as { statusCode?: unknown }).statusCode;
  const message = errorMessage(err);
  if (status === 404) return { kind: 'gone' };
  if (status === 501 || /does not support reading/i.test(message)) return { kind: 'unreadable', reason: message.replace(/^\(HTTP code \d+\)\s*\S*\s*-\s*/, '').trim() };
  return { kind: 'error', reason: message };
}
