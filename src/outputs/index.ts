/**
 * Builds one Logstash output from `outputs[i]` (the agent wires each with one call). Hosts, TLS
 * files and other settings are checked here, so a bad entry fails the start with a
 * ConfigError naming its key path; an unreachable Logstash is not an error (the output keeps
 * reconnecting and reports its state).
 */
import type { OutputConfig } from './config.ts';
import { createBeatsOutput } from './beats/output.ts';
import type { OutputDeps } from './deps.ts';
import { HttpOutput } from './http/output.ts';
import { RetryBoundOutput } from './retry-bound.ts';
import { createJsonLinesOutput } from './tcp/output.ts';
import type { Output } from './types.ts';

export type { OutputDeps } from './deps.ts';
export type { EncodedEvent, Output, OutputState, OutputStats, SendOutcome } from './types.ts';
export { EventSpans } from './event-spans.ts';
export type { EventList } from './event-spans.ts';

export function createOutput(config: OutputConfig, index: number, deps: OutputDeps): Output {
  let output: Output;
  switch (config.type) {
    case 'beats':
      output = createBeatsOutput(config, index, deps);
      break;
    case 'tcp':
      output = createJsonLinesOutput(config, index, deps);
      break;
    case 'http':
      output = new HttpOutput(config, index, deps);
      break;
  }
  return config.max_retries >= 0 ? new RetryBoundOutput(output, config.max_retries, deps) : output;
}
