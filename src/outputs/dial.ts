/**
 * Opens a TCP or TLS connection to a Logstash endpoint, bounded by a timeout and an abort
 * signal. For TLS the promise resolves after the handshake and certificate checks, so a wrong CA
 * or server name is a failed connect (retried with backoff), never a half-open connection.
 */
import { connect as netConnect } from 'node:net';
import type { Socket } from 'node:net';
import { DockhandError, errorMessage } from '../core/errors.ts';
import type { StreamEndpoint } from './endpoint.ts';
import { tlsConnectOptions } from './tls-options.ts';
import type { OutputTls } from './tls-options.ts';
import { after } from '../core/timers.ts';

/** TCP keep-alive probes on idle connections, so a vanished peer is noticed between batches. */
const TCP_KEEPALIVE_MS = 15_000;

export function dial(endpoint: StreamEndpoint, tls: OutputTls | null, timeoutMs: number, signal: AbortSignal): Promise<Socket> {
  return new Promise((resolve, reject) => {
    if (signal.aborted) return reject(new DockhandError('UNAVAILABLE', `connect to ${endpoint.label}: aborted`, { transient: true }));
    const socket: Socket = tls
      ? process.getBuiltinModule('node:tls').connect({ host: endpoint.host, port: endpoint.port, ...tlsConnectOptions(tls, endpoint.host) })
      : netConnect({ host: endpoint.host, port: endpoint.port });
    const fail = (reason: string, cause?: unknown): void => {
      cleanup();
      socket.destroy();
      reject(new DockhandError('UNAVAILABLE', `connect to ${endpoint.label}: ${reason}`, { transient: true, cause }));
    };
    const onError = (err: Error): void => fail(errorMessage(err), err);
    const onAbort = (): void => fail('aborted');
    const timer = after(timeoutMs, () => fail(`no connection within ${timeoutMs} ms`));
    const onConnected = (): void => {
      cleanup();
      socket.setNoDelay(true); // windows are written whole; Nagle would only delay the last segment
      socket.setKeepAlive(true, TCP_KEEPALIVE_MS);
      resolve(socket);
    };
    function cleanup(): void {
      clearTimeout(timer);
      signal.removeEventListener('abort', onAbort);
      socket.off('error', onError);
      socket.off(tls ? 'secureConnect' : 'connect', onConnected);
    }
    signal.addEventListener('abort', onAbort, { once: true });
    socket.once('error', onError);
    socket.once(tls ? 'secureConnect' : 'connect', onConnected);
  });
}
