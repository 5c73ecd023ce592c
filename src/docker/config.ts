/**
 * The `docker` section of the configuration: how the agent reaches the Docker engine. The Docker
 * API is root on its host, so plain TCP is refused unless explicitly allowed.
 */
import type { Infer } from '../config/schema-dsl.ts';
import { bool, checked, duration, int, nullable, obj, str } from '../config/schema-dsl.ts';
import { DAY, HOUR, TEN_MINUTES } from '../config/units.ts';
import { absolutePath, parseHostPort, readableFile } from '../config/values.ts';

function dockerHost(s: string): string | undefined {
  if (s.startsWith('unix://')) return absolutePath(s.slice('unix://'.length)) ? `"${s}": unix:// needs an absolute socket path` : undefined;
  if (s.startsWith('tcp://') || s.startsWith('https://') || s.startsWith('http://')) {
    const r = parseHostPort(s.replace(/^[a-z]+:\/\//, '').replace(/\/$/, ''));
    return typeof r === 'string' ? `"${s}": ${r}` : undefined;
  }
  return `"${s}" is not unix:///path or tcp://host:port`;
}

const clientTls = obj('TLS client files for the Docker API (as `dockerd --tlsverify` expects).', {
  ca: readableFile('CA certificate that signed the daemon\'s certificate.'),
  cert: readableFile('Client certificate.'),
  key: readableFile('Client private key.'),
});

export const dockerConfig = checked(
  obj('Connection to the Docker engine.', {
    host: str('Docker API address: unix:///path or tcp://host:port (TCP requires `tls` unless allow_insecure).', 'unix:///var/run/docker.sock', dockerHost),
    tls: nullable(clientTls, 'TLS client certificate files for tcp:// (null = none).'),
    allow_insecure: bool('Allow plain TCP without TLS. The Docker API is root on the host: leave false.', false),
    timeout: duration('Timeout of one Docker API call (list, inspect).', '10s', 100, TEN_MINUTES),
    reconnect_base: duration('First delay before reconnecting a lost event stream; doubles with jitter.', '500ms', 1, TEN_MINUTES),
    reconnect_max: duration('Longest delay between reconnect attempts.', '30s', 1, HOUR),
    resync_interval: duration('Full re-list and reconcile of the inventory as a safety net (0 = only on (re)connect).', '5m', 0, DAY),
    events_buffer: int('Recent events kept in memory for /v1/events.', 1000, 10, 1_000_000),
  }),
  (docker, _path, report) => {
    if (!docker.host.startsWith('unix://') && docker.tls === null && !docker.allow_insecure) {
      report('host', 'plain TCP to the Docker API is refused (it is root on that host): set docker.tls {ca, cert, key}, or docker.allow_insecure: true');
    }
    if (docker.reconnect_base > docker.reconnect_max) report('reconnect_base', 'must not exceed docker.reconnect_max');
  },
);

export type DockerConfig = Infer<typeof dockerConfig>;
