/**
 * The `health` section of the configuration: probe defaults, the host-wide restart policy, and
 * rules by container name, image or label. The `dockhand.probe.*` / `dockhand.restart.*`
 * container labels are decoded with the same nodes as a rule's settings (spec.ts), so a label
 * and a rule accept exactly the same values.
 */
import { isIP } from 'node:net';
import type { Infer } from '../config/schema-dsl.ts';
import { bool, checked, duration, int, list, nullable, obj, oneOf, str } from '../config/schema-dsl.ts';
import { DAY, HOUR, TEN_MINUTES, WEEK } from '../config/units.ts';
import { isHostName } from '../config/values.ts';
import { parseStatusRanges } from './status-ranges.ts';

const RESTART_POLICIES = ['no', 'on-unhealthy', 'on-failure', 'always'] as const;

/** Probe settings of a `health.rules[]` entry. null = not set here: labels win over rules, rules over `health.defaults`. */
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
    return isIP(host) || isHostName(host) ? undefined : `"${s}" is not a host name[:port]`;
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

const ruleMatch = checked(
  obj('Which containers the rule applies to; every key given must match (at least one).', {
    name: nullable(str('Container name glob (`*`, `?`, `[…]`).', '')),
    image: nullable(str('Image reference glob, e.g. `registry.local/payments/*`.', '')),
    label: nullable(str('Label `key` (present) or `key=value`.', '', (s) => (s === '' || s.startsWith('=') ? `"${s}" is not key or key=value` : undefined))),
  }),
  (m, _path, report) => {
    if (m.name === null && m.image === null && m.label === null) report('', 'needs at least one of name, image, label');
  },
);

const healthRule = checked(obj('One rule.', { match: ruleMatch, probe: probeSettings, restart: restartSettings }), (rule, _path, report) => {
  const { backoff_base: base, backoff_max: max } = rule.restart;
  if (base !== null && max !== null && base > max) report('restart.backoff_base', 'must not exceed backoff_max');
});

export const healthConfig = obj('Health probes and restart policies.', {
  defaults: obj('Probe defaults; container labels override them.', {
    interval: duration('Between probes.', '10s', 100, HOUR),
    timeout: duration('One probe.', '2s', 10, TEN_MINUTES),
    grace: duration('Start period after a container start during which failures do not count.', '60s', 0, DAY),
    healthy_threshold: int('Consecutive successes to become healthy.', 1, 1, 100),
    unhealthy_threshold: int('Consecutive failures to become unhealthy.', 3, 1, 100),
  }),
  restart: checked(
    obj('Host-wide default restart policy (label dockhand.restart overrides).', {
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
    (r, path, report) => {
      if (r.backoff_base > r.backoff_max) report('backoff_base', `must not exceed ${path}.backoff_max`);
    },
  ),
  max_concurrent_probes: int('Probes in flight at once, host-wide.', 100, 1, 10_000),
  rules: list('Probe and restart settings by container name, image or label: matching rules apply in order, a later one overriding the keys it sets.', healthRule, [], '[]'),
});

export type HealthConfig = Infer<typeof healthConfig>;
