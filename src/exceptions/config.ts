/** `logs.exceptions`: stack traces in joined events (docs/exceptions.md). */
import type { Infer } from '../config/schema-dsl.ts';
import { bool, int, obj, size } from '../config/schema-dsl.ts';

export const exceptionsConfig = obj('Stack traces in joined multiline events: error.* fields, fingerprints, the /v1/exceptions summary (docs/exceptions.md).', {
  enabled: bool('Recognize Java (JVM), Python and Go stack traces in events joined from several lines.', true),
  fingerprint_frames: int('Top frames per exception of the cause chain that go into error.fingerprint.', 5, 1, 50),
  max_apps: int('Applications the summary and the dockhand_log_exceptions_total{app} label name; further ones are counted as "other".', 50, 1, 1000),
  top_per_app: int('Fingerprints kept per application (space-saving top-N: the rarest is replaced).', 20, 1, 1000),
  sample_bytes: size('Bytes kept of one sample trace per fingerprint.', '4KiB', 256),
});

export type ExceptionsConfig = Infer<typeof exceptionsConfig>;
