import { isIP } from 'node:net';

/**
 * True for a loopback IP address literal (127.0.0.0/8, ::1, ::ffff:127.x). Names are never
 * loopback here: what a name resolves to is up to /etc/hosts and DNS.
 */
export function isLoopbackAddress(address: string): boolean {
  const family = isIP(address);
  if (family === 4) return address.startsWith('127.');
  if (family === 6) return address === '::1' || /^(0{1,4}:){7}0{0,3}1$/.test(address) || /^::ffff:127\./i.test(address);
  return false;
}

/**
 * Loopback listeners are reachable only from the host itself, so they may run without a token.
 * `localhost` is presumed loopback here, for checking a configuration before anything is bound;
 * it is only a name (an /etc/hosts line can point it at 0.0.0.0), so the API server decides again
 * on the address it actually bound (isLoopbackAddress on server.address()).
 */
export function isLoopbackHost(host: string): boolean {
  return host === 'localhost' || isLoopbackAddress(host);
}
