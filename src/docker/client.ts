/**
 * Builds the dockerode client from config: the unix socket by default, TCP with TLS client
 * certificates as `dockerd --tlsverify` expects, plain TCP only when explicitly allowed (the
 * Docker API is root on the host; config validation already refuses it otherwise).
 */
import { readFileSync } from 'node:fs';
import Docker from 'dockerode';
import type { DockerConfig } from './config.ts';
import { DockhandError, errorMessage } from '../core/errors.ts';

export type { DockerConfig } from './config.ts';

export function createDockerClient(config: DockerConfig): Docker {
  const host = config.host;
  if (host.startsWith('unix://')) return new Docker({ socketPath: host.slice('unix://'.length) });

  const url = new URL(host.replace(/^tcp:\/\//, 'http://'));
  const port = Number(url.port || (config.tls ? 2376 : 2375));
  if (config.tls) {
    return new Docker({
      host: url.hostname,
      port,
      protocol: 'https',
      ca: readTlsFile('docker.tls.ca', config.tls.ca),
      cert: readTlsFile('docker.tls.cert', config.tls.cert),
      key: readTlsFile('docker.tls.key', config.tls.key),
    });
  }
  if (!config.allow_insecure) {
    throw new DockhandError('DOCKER_INSECURE', `docker.host ${host}: plain TCP refused; configure docker.tls or docker.allow_insecure`);
  }
  return new Docker({ host: url.hostname, port, protocol: 'http' });
}

function readTlsFile(key: string, file: string): Buffer {
  try {
    return readFileSync(file);
  } catch (err) {
    throw new DockhandError('CONFIG_INVALID', `${key}: cannot read ${file}: ${errorMessage(err)}`, { cause: err });
  }
}

/** Docker's "not found" (404) — a container that vanished between list and inspect. */
export function isNotFound(err: unknown): boolean {
  return typeof err === 'object' && err !== null && (err as { statusCode?: unknown }).statusCode === 404;
}

/**
 * dockerode's info/version accept `{ abortSignal }` at run time but its typings omit it; these
 * wrappers keep the cast in one place.
 */
interface WithSignal {
  info(opts: { abortSignal: AbortSignal }): Promise<Record<string, unknown>>;
  version(opts: { abortSignal: AbortSignal }): Promise<Docker.DockerVersion>;
}

export function dockerInfo(docker: Docker, signal: AbortSignal): Promise<Record<string, unknown>> {
  return (docker as unknown as WithSignal).info({ abortSignal: signal });
}

export function dockerVersion(docker: Docker, signal: AbortSignal): Promise<Docker.DockerVersion> {
  return (docker as unknown as WithSignal).version({ abortSignal: signal });
}
