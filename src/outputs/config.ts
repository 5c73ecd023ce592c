/**
 * The `outputs` section of the configuration: one entry per Logstash output; every event goes to
 * each. A batch is shared by all outputs, so it takes the smallest bulk_max_size/bulk_max_bytes;
 * every other setting is the output's own.
 */
import type { Infer } from '../config/schema-dsl.ts';
import { bool, checked, decodeContext, duration, int, list, nullable, obj, oneOf, requiredStr, size } from '../config/schema-dsl.ts';
import { HOUR, TEN_MINUTES } from '../config/units.ts';
import { parseHostPort, readableFile } from '../config/values.ts';

/** An output host: `host:port`, or an http(s) URL (only the http output takes those; it checks). */
function outputEndpoint(s: string): string | undefined {
  if (/^https?:\/\//i.test(s)) return URL.canParse(s) ? undefined : `"${s}" is not a valid URL`;
  const r = parseHostPort(s);
  return typeof r === 'string' ? r : undefined;
}

const outputTls = obj('TLS towards Logstash.', {
  ca: nullable(readableFile('CA file to verify Logstash\'s certificate (pins the CA).')),
  cert: nullable(readableFile('Client certificate, when Logstash requires one.')),
  key: nullable(readableFile('Client private key.')),
  server_name: nullable(requiredStr('Name to verify in the server certificate (defaults to the host).')),
  verify: bool('Verify the server certificate. Only for tests; never turn off in production.', true),
});

export const outputConfig = checked(
  obj('One Logstash output.', {
    type: oneOf('Protocol: Beats/Lumberjack v2 (Logstash `beats` input), TCP json_lines, or HTTP.', ['beats', 'tcp', 'http'], 'beats'),
    hosts: list('Logstash endpoints (host:port; for http, host:port or a URL).', requiredStr('endpoint', outputEndpoint), ['127.0.0.1:5044'], '[127.0.0.1:5044]', 1),
    loadbalance: bool('Spread batches over all hosts (true) or use one and fail over (false).', false),
    tls: nullable(outputTls, 'TLS towards Logstash (null = plain).'),
    compression_level: int('zlib level for Beats `2C` frames (0 = off).', 0, 0, 9),
    bulk_max_size: int('Events per batch / Beats window upper bound. A batch goes to every output: with several outputs the smallest bulk_max_size applies to all.', 2048, 1, 65536),
    bulk_max_bytes: size('Bytes per batch at most (an event larger than this still goes alone). With several outputs the smallest applies to all.', '16MiB', 65_536),
    timeout: duration('Time to wait for an ACK (or a keep-alive) before the connection is considered dead.', '30s', 1000, TEN_MINUTES),
    backoff_base: duration('First reconnect delay, and first delay before a batch this output failed is sent again; doubles up to backoff_max, with jitter.', '1s', 1, TEN_MINUTES),
    backoff_max: duration('Longest reconnect (and batch retry) delay.', '60s', 1, HOUR),
    pipelining: int('Beats windows (tcp/http: batches) in flight per connection without waiting for ACKs.', 2, 1, 64),
    slow_start: bool('Beats: start with 10-event windows and grow by 1.5× per ACKed window up to bulk_max_size; halve on errors (Filebeat\'s slow start).', true),
    max_retries: int('Failed attempts (without progress) before the rest of a batch is dropped and counted; -1 = retry forever.', -1, -1, 1_000_000),
  }),
  (o, path, report) => {
    if (o.backoff_base > o.backoff_max) report('backoff_base', `must not exceed ${path}.backoff_max`);
    if (o.tls && (o.tls.cert === null) !== (o.tls.key === null)) report('tls', 'cert and key go together');
  },
);

export const outputsConfig = list('Logstash outputs (at least one); events go to each.', outputConfig, [outputConfig.decode(undefined, '', decodeContext())], '[{type: beats, hosts: [127.0.0.1:5044]}]', 1);

export type OutputConfig = Infer<typeof outputConfig>;
