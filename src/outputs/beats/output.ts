/**
 * The Beats output (Logstash `beats` input, Lumberjack v2): a StreamOutput whose connections are
 * BeatsConnections. Each host keeps one slow-start window across its reconnects (Filebeat keeps
 * the window per client, and a reconnect is usually the moment a smaller window helps).
 */
import type { OutputConfig } from '../config.ts';
import type { OutputDeps } from '../deps.ts';
import { streamOutputFromConfig } from '../stream-output.ts';
import type { StreamOutput } from '../stream-output.ts';
import { BeatsConnection } from './connection.ts';
import { SlowStartWindow } from './window.ts';

export function createBeatsOutput(config: OutputConfig, index: number, deps: OutputDeps): StreamOutput<BeatsConnection> {
  const windows = new Map<string, SlowStartWindow>();
  return streamOutputFromConfig('beats', config, index, deps, (socket, { endpoint, activity, buffers, logger }) => {
    let window = windows.get(endpoint.label);
    if (!window) windows.set(endpoint.label, (window = new SlowStartWindow(config.bulk_max_size, config.slow_start)));
    return new BeatsConnection({
      socket,
      host: endpoint.label,
      timeoutMs: config.timeout,
      compressionLevel: config.compression_level,
      pipelining: config.pipelining,
      window,
      buffers,
      activity,
      logger,
    });
  });
}
