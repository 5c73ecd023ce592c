/**
 * Binding the API's socket, and the rule that decides on what was bound (docs/api.md): a listener off
 * loopback must authenticate its clients (a bearer token or mutual TLS). The rule is applied to
 * `server.address()` after listen(), never to the configured name: `localhost` is whatever
 * /etc/hosts says, and a hosts file mapping it to 0.0.0.0 once made an unauthenticated agent
 * listen on every address. Config loading still rejects literal non-loopback addresses early.
 */
import type { Server } from 'node:net';
import { isIPv6 } from 'node:net';
import { DockhandError, errorMessage, systemCode } from '../core/errors.ts';
import { isLoopbackAddress } from '../core/net.ts';

export interface BoundAddress {
  /** The IP address bound (what the name resolved to), never the configured name. */
  host: string;
  port: number;
}

/**
 * Listens on `listen` and resolves with the address bound. Unless `authenticated`, a bound
 * address that is not loopback closes the server and rejects with CONFIG_INVALID.
 */
export function listenOn(server: Server, listen: { host: string; port: number }, authenticated: boolean): Promise<BoundAddress> {
  const where = formatHostPort(listen.host, listen.port);
  return new Promise((resolve, reject) => {
    const onError = (err: Error): void => reject(listenError(err, where));
    server.once('error', onError);
    server.listen({ host: listen.host, port: listen.port }, () => {
      server.off('error', onError);
      // Decided in the 'listening' callback itself: it runs before the event loop next polls the
      // listening socket, so a refused listener has not accepted, let alone served, a connection.
      const bound = server.address();
      if (bound === null || typeof bound === 'string') {
        server.close();
        reject(new DockhandError('INTERNAL', `api.listen: ${where}: the server reports no TCP address`));
        return;
      }
      if (!authenticated && !isLoopbackAddress(bound.address)) {
        server.close();
        reject(new DockhandError('CONFIG_INVALID', offLoopbackMessage(where, listen.host, bound.address, bound.port)));
        return;
      }
      resolve({ host: bound.address, port: bound.port });
    });
  });
}

function offLoopbackMessage(where: string, name: string, address: string, port: number): string {
  const fix = 'set api.token_file or api.tls.client_ca to serve off loopback';
  if (name === address) return `api.listen: ${where} is not a loopback address: ${fix}`;
  return `api.listen: ${where} is bound to ${formatHostPort(address, port)}, which is not a loopback address (see what ${name} resolves to): ${fix}`;
}

export function formatHostPort(host: string, port: number): string {
  return isIPv6(host) ? `[${host}]:${port}` : `${host}:${port}`;
}

function listenError(err: Error, where: string): DockhandError {
  const code = systemCode(err);
  const reasons: Record<string, string> = {
    EADDRINUSE: 'address already in use',
    EACCES: 'permission denied (ports below 1024 need CAP_NET_BIND_SERVICE)',
    EADDRNOTAVAIL: 'address not available on this host',
    ENOTFOUND: 'host name does not resolve',
  };
  const reason = (code !== undefined ? reasons[code] : undefined) ?? errorMessage(err);
  const message = `api.listen: cannot listen on ${where}: ${reason}${code === undefined ? '' : ` (${code})`}`;
  // Another process on the port may go away (a restart overlapping the old agent); the rest is configuration.
  if (code === 'EADDRINUSE') return new DockhandError('UNAVAILABLE', message, { transient: true, cause: err });
  return new DockhandError('CONFIG_INVALID', message, { cause: err });
}
