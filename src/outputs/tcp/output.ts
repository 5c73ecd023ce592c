/** The TCP json_lines output (Logstash `tcp` input, `codec => json_lines`): see connection.ts for what "acked" means. */
import type { OutputConfig } from '../config.ts';
import type { OutputDeps } from '../deps.ts';
import { streamOutputFromConfig } from '../stream-output.ts';
import type { StreamOutput } from '../stream-output.ts';
import { JsonLinesConnection } from './connection.ts';

export function createJsonLinesOutput(config: OutputConfig, index: number, deps: OutputDeps): StreamOutput<JsonLinesConnection> {
  return streamOutputFromConfig('tcp', config, index, deps, (socket, { endpoint, activity }) =>
    new JsonLinesConnection({ socket, host: endpoint.label, timeoutMs: config.timeout, activity }));
}
