/**
 * A Docker API proxy on a unix socket that forwards every request to a real engine but leaves
 * chosen lines out of `/events` responses: event loss the agent cannot tell from the real thing
 * (moby's publisher skips a subscriber that does not take an event within 100 ms, and a broken
 * stream loses what was in flight). Everything stays on local sockets.
 */
import { createServer, request } from 'node:http';
import type { IncomingHttpHeaders } from 'node:http';
import path from 'node:path';

export interface ProxiedEvent {
  Type: string;
  Action: string;
  Actor: { ID: string };
}

export interface LossyDockerProxy {
  /** `unix://…` for the agent's docker.host. */
  readonly host: string;
  /** Dropped events by action. */
  readonly dropped: Map<string, number>;
  close(): Promise<void>;
}

const EVENTS_PATH = /^(\/v[\d.]+)?\/events(\?|$)/;

/** `target` is the engine's `unix://` address; `drop` decides per event line (in stream order). */
export async function startLossyDockerProxy(target: string, dir: string, drop: (event: ProxiedEvent) => boolean): Promise<LossyDockerProxy> {
  if (!target.startsWith('unix://')) throw new Error(`the lossy proxy forwards to unix sockets only, got ${target}`);
  const targetPath = target.slice('unix://'.length);
  const socketPath = path.join(dir, 'lossy-docker.sock');
  const dropped = new Map<string, number>();
  const server = createServer((req, res) => {
    const headers: IncomingHttpHeaders = { ...req.headers };
    const upstream = request({ socketPath: targetPath, method: req.method, path: req.url, headers }, (up) => {
      if (!EVENTS_PATH.test(req.url ?? '')) {
        res.writeHead(up.statusCode ?? 502, up.headers);
        up.pipe(res);
        return;
      }
      const { 'content-length': _length, ...rest } = up.headers;
      res.writeHead(up.statusCode ?? 502, rest);
      // Docker sends the headers of an event stream at once; a client waits for them before the first event
      res.flushHeaders();
      let carry = '';
      up.setEncoding('utf8');
      up.on('data', (chunk: string) => {
        carry += chunk;
        let nl: number;
        let out = '';
        while ((nl = carry.indexOf('\n')) >= 0) {
          const line = carry.slice(0, nl + 1);
          carry = carry.slice(nl + 1);
          const event = parse(line);
          if (event && drop(event)) dropped.set(event.Action, (dropped.get(event.Action) ?? 0) + 1);
          else out += line;
        }
        if (out) res.write(out);
      });
      up.on('end', () => res.end(carry));
      up.on('error', () => res.destroy());
    });
    upstream.on('error', () => res.destroy());
    // the agent closing its event stream must close ours to the engine too
    res.on('close', () => upstream.destroy());
    req.pipe(upstream);
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(socketPath, resolve);
  });
  return {
    host: `unix://${socketPath}`,
    dropped,
    close: () =>
      new Promise<void>((resolve) => {
        // stop accepting first: a client that reconnects in between would hold close() open for ever
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

function parse(line: string): ProxiedEvent | undefined {
  try {
    const v = JSON.parse(line) as Partial<ProxiedEvent>;
    return typeof v.Action === 'string' && typeof v.Actor?.ID === 'string' ? (v as ProxiedEvent) : undefined;
  } catch {
    return undefined;
  }
}
