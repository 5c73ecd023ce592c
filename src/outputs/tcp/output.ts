/** The TCP json_lines output (Logstash `tcp` input, `codec => json_lines`): see connection.ts for what "acked" means. */
import type { OutputConfig } from '../../config/schema.ts';
import type { OutputDeps } from '../deps.ts';
import { BufferPool } from '../buffer-pool.ts';
import { dial } from '../dial.ts';
import { parseStreamEndpoints } from '../endpoint.ts';
import { StreamOutput } from '../stream-output.ts';
import { loadOutputTls } from '../tls-options.ts';
import { JsonLinesConnection } from './connection.ts';

export function createJsonLinesOutput(config: OutputConfig, index: number, deps: OutputDeps): StreamOutput<JsonLinesConnection> {
  const name = `tcp[${index}]`;
  const keyPath = `outputs[${index}]`;
  const endpoints = parseStreamEndpoints(config.hosts, `${keyPath}.hosts`);
  const tls = loadOutputTls(config.tls, `${keyPath}.tls`);
  const buffers = new BufferPool(config.pipelining * endpoints.length + 1);
  return new StreamOutput<JsonLinesConnection>({
    name,
    endpoints,
    loadbalance: config.loadbalance,
    backoffBaseMs: config.backoff_base,
    backoffMaxMs: config.backoff_max,
    timeoutMs: config.timeout,
    maxInFlight: config.pipelining * (config.loadbalance ? endpoints.length : 1),
    logger: deps.logger.child({ output: name }),
    registry: deps.registry,
    ...(deps.random ? { random: deps.random } : {}),
    async connect(endpoint, signal, activity) {
      const socket = await dial(endpoint, tls, config.timeout, signal);
      return new JsonLinesConnection({ socket, host: endpoint.label, timeoutMs: config.timeout, activity, buffers });
    },
  });
}
