/**
 * The Beats output (Logstash `beats` input, Lumberjack v2): a StreamOutput whose connections are
 * BeatsConnections. Each host keeps one slow-start window across its reconnects (Filebeat keeps
 * the window per client, and a reconnect is usually the moment a smaller window helps).
 */
import type { OutputConfig } from '../../config/schema.ts';
import type { OutputDeps } from '../deps.ts';
import { dial } from '../dial.ts';
import { parseStreamEndpoints } from '../endpoint.ts';
import { StreamOutput } from '../stream-output.ts';
import { loadOutputTls } from '../tls-options.ts';
import { BufferPool } from '../buffer-pool.ts';
import { BeatsConnection } from './connection.ts';
import { SlowStartWindow } from './window.ts';

export function createBeatsOutput(config: OutputConfig, index: number, deps: OutputDeps): StreamOutput<BeatsConnection> {
  const name = `beats[${index}]`;
  const keyPath = `outputs[${index}]`;
  const endpoints = parseStreamEndpoints(config.hosts, `${keyPath}.hosts`);
  const tls = loadOutputTls(config.tls, `${keyPath}.tls`);
  const logger = deps.logger.child({ output: name });
  const windows = new Map(endpoints.map((e) => [e.label, new SlowStartWindow(config.bulk_max_size, config.slow_start)]));
  // Windows in flight at once, over all connections, plus one being encoded.
  const buffers = new BufferPool(config.pipelining * endpoints.length + 1);
  return new StreamOutput<BeatsConnection>({
    name,
    endpoints,
    loadbalance: config.loadbalance,
    backoffBaseMs: config.backoff_base,
    backoffMaxMs: config.backoff_max,
    timeoutMs: config.timeout,
    maxInFlight: config.pipelining * (config.loadbalance ? endpoints.length : 1),
    logger,
    registry: deps.registry,
    ...(deps.random ? { random: deps.random } : {}),
    async connect(endpoint, signal, activity) {
      const socket = await dial(endpoint, tls, config.timeout, signal);
      return new BeatsConnection({
        socket,
        host: endpoint.label,
        timeoutMs: config.timeout,
        compressionLevel: config.compression_level,
        pipelining: config.pipelining,
        window: windows.get(endpoint.label) as SlowStartWindow,
        buffers,
        activity,
        logger,
      });
    },
  });
}
