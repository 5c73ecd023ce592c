/**
 * The configuration file's schema: every key, its default and its documentation, in one place.
 * Key names are fixed by SPEC §8 (operators' Ansible roles are written against them): add keys,
 * never rename. The README's configuration reference is generated from this file
 * (`npm run config-reference`) and a unit test keeps the two in step.
 */
import { isIP } from 'node:net';
import { isAbsolute } from 'node:path';
import { catastrophicBacktrackingRisk } from '../core/regex-safety.ts';
import type { Infer, SchemaNode } from './schema-dsl.ts';
import { bool, duration, int, list, nullable, obj, oneOf, requiredStr, size, str } from './schema-dsl.ts';
import { uniqueContainerLabels } from '../metrics/label-names.ts';
import { parseStatusRanges } from '../health/status-ranges.ts';

export interface HostPort {
  host: string;
  port: number;
}

/** Upper bounds of duration keys (every duration has one: see schema-dsl.ts `duration`). */
const TEN_MINUTES = 10 * 60_000;
const HOUR = 3_600_000;
const DAY = 24 * HOUR;
const WEEK = 7 * DAY;

const HOSTNAME = /^(?=.{1,253}$)[a-zA-Z0-9]([a-zA-Z0-9-]{0,61}[a-zA-Z0-9])?(\.[a-zA-Z0-9]([a-zA-Z0-9-]{0,61}[a-zA-Z0-9])?)*$/;

/** `host:port`, `[v6]:port`; returns an error message or the parts. */
export function parseHostPort(text: string): HostPort | string {
  const m = /^\[([^\]]+)\]:(\d+)$/.exec(text) ?? /^([^:[\]]+):(\d+)$/.exec(text);
  if (!m) return `"${text}" is not host:port (IPv6 as [::1]:port)`;
  const host = m[1] as string;
  const port = Number(m[2]);
  if (!(isIP(host) || HOSTNAME.test(host))) return `"${host}" is not an IP address or host name`;
  if (port < 1 || port > 65535) return `port ${port} is out of range`;
  return { host, port };
}

function hostPort(doc: string, def: string): SchemaNode<HostPort> {
  const defaultValue = parseHostPort(def);
  if (typeof defaultValue === 'string') throw new Error(defaultValue);
  const base = str(doc, def, (s) => {
    const r = parseHostPort(s);
    return typeof r === 'string' ? r : undefined;
  });
  return {
    ...base,
    typeName: 'host:port',
    decode(raw, path, ctx) {
      const text = base.decode(raw, path, ctx);
      const r = parseHostPort(text);
      return typeof r === 'string' ? defaultValue : r;
    },
  };
}

/** An output host: `host:port`, or an http(s) URL (only the http output takes those; it checks). */
function outputEndpoint(s: string): string | undefined {
  if (/^https?:\/\//i.test(s)) return URL.canParse(s) ? undefined : `"${s}" is not a valid URL`;
  const r = parseHostPort(s);
  return typeof r === 'string' ? r : undefined;
}

function absolutePath(s: string): string | undefined {
  if (s === '') return 'must not be empty';
  if (!isAbsolute(s)) return `"${s}" is not an absolute path`;
  if (s.includes('\0')) return 'contains a NUL byte';
  return undefined;
}

const path = (doc: string, def: string) => ({ ...str(doc, def, absolutePath), typeName: 'path' });
const requiredPath = (doc: string) => ({ ...requiredStr(doc, absolutePath), typeName: 'path' });

function dockerHost(s: string): string | undefined {
  if (s.startsWith('unix://')) return absolutePath(s.slice('unix://'.length)) ? `"${s}": unix:// needs an absolute socket path` : undefined;
  if (s.startsWith('tcp://') || s.startsWith('https://') || s.startsWith('http://')) {
    const r = parseHostPort(s.replace(/^[a-z]+:\/\//, '').replace(/\/$/, ''));
    return typeof r === 'string' ? `"${s}": ${r}` : undefined;
  }
  return `"${s}" is not unix:///path or tcp://host:port`;
}

const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;

const clientTls = obj('TLS client files for the Docker API (as `dockerd --tlsverify` expects).', {
  ca: requiredPath('CA certificate that signed the daemon\'s certificate.'),
  cert: requiredPath('Client certificate.'),
  key: requiredPath('Client private key.'),
});

const outputTls = obj('TLS towards Logstash.', {
  ca: nullable(requiredPath('CA file to verify Logstash\'s certificate (pins the CA).')),
  cert: nullable(requiredPath('Client certificate, when Logstash requires one.')),
  key: nullable(requiredPath('Client private key.')),
  server_name: nullable(requiredStr('Name to verify in the server certificate (defaults to the host).')),
  verify: bool('Verify the server certificate. Only for tests; never turn off in production.', true),
});

const output = obj('One Logstash output.', {
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
});

const RESTART_POLICIES = ['no', 'on-unhealthy', 'on-failure', 'always'] as const;

/**
 * Probe settings of a `health.rules[]` entry. The `dockhand.probe.<key>` container labels are
 * decoded with these same nodes (src/health/spec.ts), so a label and a rule accept exactly the
 * same values. null = not set here: labels win over rules, rules over `health.defaults`.
 */
export const probeSettings = obj('Probe settings (null = not set by this rule). Container labels `dockhand.probe.*` override them.', {
  type: nullable(oneOf('tcp (connect), http (status check), or none (no probe, e.g. to opt a container out).', ['tcp', 'http', 'none'], 'tcp')),
  port: nullable(int('Container port; resolved to its published host port, the container IP, or 127.0.0.1 under host networking. Unset: the only published TCP port.', 1, 1, 65535)),
  path: nullable(str('HTTP path (default /).', '/', (s) => (s.startsWith('/') && !/[\s#]/.test(s) ? undefined : `"${s}" must start with / and contain no spaces or #`))),
  method: nullable(oneOf('HTTP method (default get).', ['get', 'head', 'post'], 'get')),
  expect: nullable(str('Accepted HTTP status codes: codes, ranges, classes, comma-separated (default 200-399).', '200-399', (s) => {
    const r = parseStatusRanges(s);
    return typeof r === 'string' ? r : undefined;
  })),
  host_header: nullable(str('Host header to send; also the TLS server name checked.', '', (s) => {
    const host = s.replace(/:\d{1,5}$/, '');
    return isIP(host) || HOSTNAME.test(host) ? undefined : `"${s}" is not a host name[:port]`;
  })),
  tls: nullable(bool('HTTPS instead of HTTP.', false)),
  tls_verify: nullable(bool('Verify the HTTPS certificate (default true).', true)),
  interval: nullable(duration('Between probes (default health.defaults.interval).', '10s', 100, HOUR)),
  timeout: nullable(duration('One probe; capped at the interval (default health.defaults.timeout).', '2s', 10, TEN_MINUTES)),
  grace: nullable(duration('Start period after each container start (default health.defaults.grace).', '60s', 0, DAY)),
  healthy_threshold: nullable(int('Consecutive successes to become healthy (default health.defaults.healthy_threshold).', 1, 1, 100)),
  unhealthy_threshold: nullable(int('Consecutive failures to become unhealthy (default health.defaults.unhealthy_threshold).', 3, 1, 100)),
});

/** Restart settings of a `health.rules[]` entry; labels `dockhand.restart` and `dockhand.restart.<key>` use the same nodes. */
export const restartSettings = obj('Restart policy settings (null = not set by this rule). Labels `dockhand.restart` and `dockhand.restart.*` override them.', {
  policy: nullable(oneOf('When the agent restarts the container (default health.restart.policy).', RESTART_POLICIES, 'no')),
  max_restarts: nullable(int('Restarts in `window` before the container is marked crash-looping.', 5, 1, 1000)),
  window: nullable(duration('Window for max_restarts.', '10m', 1000, WEEK)),
  backoff_base: nullable(duration('First restart delay.', '1s', 1, HOUR)),
  backoff_max: nullable(duration('Longest restart delay.', '5m', 1, DAY)),
  reset_after: nullable(duration('Healthy this long resets the backoff.', '10m', 1000, WEEK)),
  stop_timeout: nullable(duration('Time the container gets to stop before SIGKILL on restart.', '10s', 0, TEN_MINUTES)),
});

const ruleMatchFields = obj('Which containers the rule applies to; every key given must match (at least one).', {
  name: nullable(str('Container name glob (`*`, `?`).', '')),
  image: nullable(str('Image reference glob, e.g. `registry.local/payments/*`.', '')),
  label: nullable(str('Label `key` (present) or `key=value`.', '', (s) => (s === '' || s.startsWith('=') ? `"${s}" is not key or key=value` : undefined))),
});
const ruleMatch: typeof ruleMatchFields = {
  ...ruleMatchFields,
  decode(raw, path, ctx) {
    const m = ruleMatchFields.decode(raw, path, ctx);
    if (m.name === null && m.image === null && m.label === null) ctx.problems.push({ path, reason: 'needs at least one of name, image, label' });
    return m;
  },
};

const healthRuleFields = obj('One rule.', { match: ruleMatch, probe: probeSettings, restart: restartSettings });
const healthRule: typeof healthRuleFields = {
  ...healthRuleFields,
  decode(raw, path, ctx) {
    const rule = healthRuleFields.decode(raw, path, ctx);
    const { backoff_base: base, backoff_max: max } = rule.restart;
    if (base !== null && max !== null && base > max) ctx.problems.push({ path: `${path}.restart.backoff_base`, reason: 'must not exceed backoff_max' });
    return rule;
  },
};

export const configSchema = obj('dockhand configuration', {
  log_level: oneOf('pino log level of the agent\'s own JSON logs on stdout.', LOG_LEVELS, 'info'),
  state_dir: path('Directory for state that must survive a restart (log offsets). Created when missing.', '/var/lib/dockhand'),
  docker: obj('Connection to the Docker engine.', {
    host: str('Docker API address: unix:///path or tcp://host:port (TCP requires `tls` unless allow_insecure).', 'unix:///var/run/docker.sock', dockerHost),
    tls: nullable(clientTls, 'TLS client certificate files for tcp:// (null = none).'),
    allow_insecure: bool('Allow plain TCP without TLS. The Docker API is root on the host: leave false.', false),
    timeout: duration('Timeout of one Docker API call (list, inspect).', '10s', 100, TEN_MINUTES),
    reconnect_base: duration('First delay before reconnecting a lost event stream; doubles with jitter.', '500ms', 1, TEN_MINUTES),
    reconnect_max: duration('Longest delay between reconnect attempts.', '30s', 1, HOUR),
    resync_interval: duration('Full re-list and reconcile of the inventory as a safety net (0 = only on (re)connect).', '5m', 0, DAY),
    events_buffer: int('Recent events kept in memory for /v1/events.', 1000, 10, 1_000_000),
  }),
  api: obj('HTTP API for the control plane, Prometheus and Zabbix.', {
    listen: hostPort('Address to listen on (port 1–65535). Off loopback it requires token_file or tls.client_ca; the check is made on the address actually bound, so a name such as localhost counts only if it resolves to loopback.', '127.0.0.1:9731'),
    token_file: nullable(requiredPath('File holding the bearer token; when set, every endpoint but /healthz requires it.')),
    tls: nullable(
      obj('HTTPS for the API.', {
        cert: requiredPath('Server certificate (PEM).'),
        key: requiredPath('Server private key (PEM).'),
        client_ca: nullable(requiredPath('CA for client certificates: set = mutual TLS required.')),
      }),
      'HTTPS (null = plain HTTP).',
    ),
    metrics_auth: bool('Require the token on /metrics (false = open for Prometheus).', true),
  }),
  logs: obj('Log collection from the conventional directory (see SPEC §2).', {
    roots: list('Directories to watch.', requiredPath('directory'), ['/data/application/logs', '/data/application/logs/tracing'], '[/data/application/logs, /data/application/logs/tracing]'),
    include: list('Glob patterns (file names) to tail. The default takes `.log` in any letter case, as the naming convention does.', requiredStr('glob'), ['*.[lL][oO][gG]'], '["*.[lL][oO][gG]"]'),
    exclude: list('Glob patterns to skip.', requiredStr('glob'), [], '[]'),
    start_at: oneOf('Where to start in a file seen for the first time.', ['beginning', 'end'], 'beginning'),
    close_inactive: duration('Close a file after this long without new data; reopened when it grows.', '5m', 1000, WEEK),
    max_open_files: int('Bound on files held open at once.', 1024, 1, 1_000_000),
    max_line_bytes: size('Longer lines are truncated and tagged.', '1MiB', 1024),
    rescan_interval: duration('Periodic directory rescan, a safety net for missed watch events.', '10s', 100, HOUR),
    multiline: obj('Joining continuation lines (Java stack traces) into one event.', {
      pattern: str('Regular expression of a continuation line ("" = no multiline joining).', '^(\\s+at |\\s+\\.\\.\\. \\d+ more|Caused by:)', (s) => {
        try {
          if (s === '') return undefined;
          new RegExp(s);
          // It runs on every line (up to max_line_bytes long): no catastrophic backtracking.
          return catastrophicBacktrackingRisk(s);
        } catch (err) {
          return `not a valid regular expression: ${(err as Error).message}`;
        }
      }),
      negate: bool('Lines NOT matching the pattern are continuations.', false),
      match: oneOf('Continuations join the event before (after) or after (before) them.', ['after', 'before'], 'after'),
      max_lines: int('Lines per joined event; the rest is dropped and flagged.', 500, 1, 100_000),
      timeout: duration('Flush a pending multiline event after this long.', '5s', 10, TEN_MINUTES),
    }),
    stall_warning: duration('Warn when shipping has made no progress for this long while events wait.', '60s', 1000, DAY),
    lag_warning: size('Warn when a file is this far behind (bytes not yet acknowledged by Logstash).', '256MiB', 1),
    release_deleted_after: duration('A deleted file still held open (output down) is released after this long; its unread bytes are counted as lost.', '30m', 1000, WEEK),
    queue_max_events: int('Events buffered in memory between files and outputs; reading pauses when full (batches in flight come on top).', 4096, 64, 10_000_000),
    queue_max_bytes: size('Bytes buffered in memory between files and outputs; reading pauses when full.', '16MiB', 65_536),
    env_codes: list('Environment codes in file names (first three letters of the environment).', requiredStr('code'), ['dev', 'nor', 'eme', 'spe', 'mir', 'pro'], '[dev, nor, eme, spe, mir, pro]'),
  }),
  outputs: list('Logstash outputs (at least one); events go to each.', output, [output.decode(undefined, '', { problems: [], envSources: new Map() })], '[{type: beats, hosts: [127.0.0.1:5044]}]', 1),
  metrics: obj('Container and host metrics.', {
    interval: duration('Sampling interval.', '10s', 1000, HOUR),
    container_labels: uniqueContainerLabels(list('Container labels exported as container_label_<k> (characters outside [a-zA-Z0-9_] become `_`).', requiredStr('label', (s) => (s === '' ? 'must not be empty' : undefined)), [], '[]')),
    keep_stopped: duration('How long stopped and removed containers stay in metrics and the Zabbix endpoints (lifecycle figures: exit code, OOM kill, last seen).', '1h', 0, WEEK),
    scrape_cache: duration('A /metrics scrape reuses a sample younger than this, so scrapers within it share one sweep (0 = sample on every scrape).', '1s', 0, TEN_MINUTES),
    proc_root: path('Where the host\'s /proc is: the sampler reads /proc/<pid>/net/dev and /proc/<pid>/cgroup of container processes (e.g. /host/proc in a container without --pid host).', '/proc'),
    cgroup_root: nullable(requiredPath('Directory holding the host\'s cgroup hierarchy: a cgroup2 mount, or v1 controller directories (memory, cpu, cpuacct, blkio, pids).'), 'cgroup hierarchy location (null = detect from /proc/self/mountinfo).'),
    exclude_interfaces: list('Container network interfaces left out (exact names, or prefixes written `veth*`).', requiredStr('interface'), ['lo'], '[lo]'),
    host_exclude_interfaces: list('Host network interfaces left out of node_network_* and /v1/host (exact names or `prefix*`).', requiredStr('interface'), ['veth*'], '["veth*"]'),
    stats_api_fallback: bool('Read containers whose cgroup files are unreadable through the Docker stats API (one-shot) instead of leaving them out.', true),
  }),
  health: obj('Health probes and restart policies.', {
    defaults: obj('Probe defaults; container labels override them.', {
      interval: duration('Between probes.', '10s', 100, HOUR),
      timeout: duration('One probe.', '2s', 10, TEN_MINUTES),
      grace: duration('Start period after a container start during which failures do not count.', '60s', 0, DAY),
      healthy_threshold: int('Consecutive successes to become healthy.', 1, 1, 100),
      unhealthy_threshold: int('Consecutive failures to become unhealthy.', 3, 1, 100),
    }),
    restart: obj('Host-wide default restart policy (label dockhand.restart overrides).', {
      policy: oneOf('When the agent restarts a container.', RESTART_POLICIES, 'no'),
      max_restarts: int('Restarts allowed in `window` before the container is marked crash-looping.', 5, 1, 1000),
      window: duration('Window for max_restarts.', '10m', 1000, WEEK),
      backoff_base: duration('First restart delay; doubles with jitter.', '1s', 1, HOUR),
      backoff_max: duration('Longest restart delay.', '5m', 1, DAY),
      reset_after: duration('Healthy this long resets the backoff.', '10m', 1000, WEEK),
      max_concurrent: int('Restarts in progress at once, host-wide.', 2, 1, 100),
      stop_timeout: duration('Time a container gets to stop before SIGKILL when the agent restarts it.', '10s', 0, TEN_MINUTES),
      stagger: duration('Spacing of the restarts due after a host reboot or a Docker daemon restart.', '1s', 0, TEN_MINUTES),
      daemon_record: bool('After a Docker daemon restart, read the daemon\'s own record of API stops (HasBeenManuallyStopped in <DockerRootDir>/containers/<id>/config.v2.json, readable as root) to tell its shutdown from an operator\'s docker stop; false, or where unreadable: judge by event timing.', true),
    }),
    max_concurrent_probes: int('Probes in flight at once, host-wide.', 100, 1, 10_000),
    rules: list('Probe and restart settings by container name, image or label: matching rules apply in order, a later one overriding the keys it sets.', healthRule, [], '[]'),
  }),
});

export type Config = Infer<typeof configSchema>;
export type OutputConfig = Config['outputs'][number];
