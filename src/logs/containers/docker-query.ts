/**
 * One-off questions to the Docker API about a container's stored output, to check a follow
 * against it: the newest message's time (`tail=1`: the daemon reads the log backwards), and
 * whether it holds messages from a given second on that the follow did not deliver.
 */
import type Docker from 'dockerode';
import { DockerLogParser } from './docker-stream.ts';
import type { DockerTime } from './docker-stream.ts';

function later(a: DockerTime, b: DockerTime): boolean {
  return a.sec > b.sec || (a.sec === b.sec && a.nanos > b.nanos);
}

/** The time of the newest message Docker holds (0 when none). */
export async function dockerNewest(docker: Docker, id: string, tty: boolean, signal: AbortSignal): Promise<DockerTime> {
  const newest = { sec: 0, nanos: 0 };
  const body = await docker.getContainer(id).logs({ follow: false, stdout: true, stderr: true, timestamps: true, tail: 1, abortSignal: signal });
  const parser = new DockerLogParser(tty, (_s, _b, _f, _t, _p, ts) => {
    if (later(ts, newest)) Object.assign(newest, ts);
  });
  parser.push(body);
  parser.end();
  return newest;
}

/** What Docker holds from `since` (whole seconds) on: how many messages `known` does not know, and the newest one's time. */
export async function dockerSince(docker: Docker, id: string, tty: boolean, since: number, known: (sec: number, nanos: number) => boolean, signal: AbortSignal): Promise<{ unknown: number; newest: DockerTime }> {
  const newest = { sec: 0, nanos: 0 };
  let unknown = 0;
  const body = await docker.getContainer(id).logs({ follow: false, stdout: true, stderr: true, timestamps: true, since, abortSignal: signal });
  const parser = new DockerLogParser(tty, (_s, _b, _f, _t, _p, ts) => {
    if (ts.sec >= since && !known(ts.sec, ts.nanos)) unknown++;
    if (later(ts, newest)) Object.assign(newest, ts);
  });
  parser.push(body);
  parser.end();
  return { unknown, newest };
}
