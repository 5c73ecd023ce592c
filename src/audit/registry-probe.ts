/**
 * Checks a registry's TLS the way Docker would: a handshake with the system roots plus the CAs
 * of its certs.d directory, then `GET /v2/`, reporting the exact x509 failure. Only towards the
 * registries the daemon's configuration names; bounded by a timeout; never throws.
 */
import { isIP } from 'node:net';
import { errorMessage, systemCode } from '../core/errors.ts';

export interface RegistryProbeResult {
  /** `ok`, `tls` (the handshake failed: detail has the x509 error), or `unreachable`. */
  outcome: 'ok' | 'tls' | 'unreachable';
  detail: string;
}

/** `host[:port]` → host and port (443 by default); IPv6 in brackets. */
export function registryAddress(name: string): { host: string; port: number } | undefined {
  const m = /^(\[[0-9a-fA-F:.]+\]|[^:/\s]+)(?::(\d{1,5}))?$/.exec(name);
  if (!m) return undefined;
  const port = m[2] === undefined ? 443 : Number(m[2]);
  if (port < 1 || port > 65535) return undefined;
  return { host: (m[1] ?? '').replace(/^\[|\]$/g, ''), port };
}

export function probeRegistry(name: string, cas: readonly string[], timeoutMs: number): Promise<RegistryProbeResult> {
  const address = registryAddress(name);
  if (!address) return Promise.resolve({ outcome: 'unreachable', detail: `"${name}" is not host[:port]` });
  // tls only when a registry is probed (src/core/lazy-builtins.ts)
  const { connect, rootCertificates } = process.getBuiltinModule('node:tls');
  return new Promise((resolve) => {
    let done = false;
    const finish = (r: RegistryProbeResult): void => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      socket.destroy();
      resolve(r);
    };
    const socket = connect({
      host: address.host,
      port: address.port,
      ca: [...rootCertificates, ...cas],
      ...(isIP(address.host) ? {} : { servername: address.host }),
      ALPNProtocols: ['http/1.1'],
    });
    const timer = setTimeout(() => finish({ outcome: 'unreachable', detail: `no answer within ${timeoutMs} ms` }), timeoutMs);
    socket.once('secureConnect', () => {
      if (!socket.authorized) {
        finish({ outcome: 'tls', detail: `x509: ${String(socket.authorizationError)}` });
        return;
      }
      socket.write(`GET /v2/ HTTP/1.1\r\nHost: ${name}\r\nConnection: close\r\n\r\n`);
      let head = '';
      socket.on('data', (b: Buffer) => {
        head += b.toString('latin1');
        const status = /^HTTP\/1\.[01] (\d{3})/.exec(head);
        if (status) finish({ outcome: 'ok', detail: `GET /v2/ answered ${status[1]}` });
        else if (head.length > 4096) finish({ outcome: 'ok', detail: 'TLS verified; /v2/ did not answer HTTP' });
      });
      socket.once('end', () => finish({ outcome: 'ok', detail: 'TLS verified; /v2/ closed without an answer' }));
    });
    socket.once('error', (err) => {
      const code = systemCode(err) ?? (err as { code?: string }).code;
      const tlsFailure = code !== undefined && !/^E[A-Z]+$/.test(code);
      finish(tlsFailure
        ? { outcome: 'tls', detail: `x509: ${code}: ${errorMessage(err)}` }
        : { outcome: 'unreachable', detail: `${code ?? 'error'}: ${errorMessage(err)}` });
    });
  });
}
