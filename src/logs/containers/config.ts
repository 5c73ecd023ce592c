/**
 * The `container_logs` section: what containers print on stdout/stderr, read through the Docker
 * API (docs/logs.md, "Container output"), shipped through the same pipeline and offsets registry
 * as the log files. A container opts out with the label `dockhand.logs=false`.
 */
import type { Infer } from '../../config/schema-dsl.ts';
import { bool, duration, int, list, obj, oneOf, requiredStr, size, str } from '../../config/schema-dsl.ts';
import { TEN_MINUTES } from '../../config/units.ts';
import { JAVA_CONTINUATION, multilinePattern } from '../config.ts';

/** `name:<glob>`, `image:<glob>`, `label:<key>` or `label:<key>=<glob>`; a bare glob is a name. */
export function selectorProblem(s: string): string | undefined {
  if (s === '') return 'is empty';
  const colon = s.indexOf(':');
  const kind = colon < 0 ? 'name' : s.slice(0, colon);
  if (colon >= 0 && kind !== 'name' && kind !== 'image' && kind !== 'label') return `"${s}": a selector is name:<glob>, image:<glob>, label:<key> or label:<key>=<glob>`;
  const rest = colon < 0 ? s : s.slice(colon + 1);
  if (rest === '' || rest.startsWith('=')) return `"${s}": nothing to match after "${kind}:"`;
  return undefined;
}

export const containerLogsConfig = obj('Collection of what containers print on stdout/stderr, through the Docker API or from json-file logs (docs/logs.md). A container opts out with the label `dockhand.logs=false`.', {
  enabled: bool('Collect running containers\' stdout and stderr.', true),
  include: list('Containers collected: selectors `name:<glob>`, `image:<glob>`, `label:<key>` or `label:<key>=<glob>` (a bare glob is a name); a container matching one of them is collected.', requiredStr('selector', selectorProblem), ['*'], '["*"]'),
  exclude: list('Containers skipped (same selectors as include); wins over include.', requiredStr('selector', selectorProblem), [], '[]'),
  read_from: oneOf('Where output is read: `api`, the Docker API (works with the docker group alone, for every driver that supports reading); `files`, json-file logs read directly (less CPU for the agent and for dockerd; needs read access to /var/lib/docker/containers: root, or the CAP_DAC_READ_SEARCH drop-in of docs/logs.md). With `files`, a container whose driver is not json-file, whose rotated files are compressed, or whose file cannot be read is read through the API.', ['api', 'files'], 'api'),
  max_line_bytes: size('Docker splits lines over 16 KiB into partial messages; they are joined back up to this size, the rest is cut and the event flagged `truncated`.', '1MiB', 1024),
  multiline: obj('Joining continuation lines (Java stack traces) of one stream into one event, as for files.', {
    pattern: str('Regular expression of a continuation line ("" = no multiline joining).', JAVA_CONTINUATION, multilinePattern),
    negate: bool('Lines NOT matching the pattern are continuations.', false),
    match: oneOf('Continuations join the event before (after) or after (before) them.', ['after', 'before'], 'after'),
    max_lines: int('Lines per joined event; the rest is dropped and flagged.', 500, 1, 100_000),
    timeout: duration('Flush a pending multiline event after this long.', '5s', 10, TEN_MINUTES),
  }),
});

export type ContainerLogsConfig = Infer<typeof containerLogsConfig>;
