/** The `metrics` section of the configuration: container and host sampling, and what is exported. */
import type { Infer } from '../config/schema-dsl.ts';
import { bool, duration, list, nullable, obj, requiredStr } from '../config/schema-dsl.ts';
import { HOUR, TEN_MINUTES, WEEK } from '../config/units.ts';
import { path, requiredPath } from '../config/values.ts';
import { uniqueContainerLabels } from './label-names.ts';

export const metricsConfig = obj('Container and host metrics.', {
  interval: duration('Sampling interval.', '10s', 1000, HOUR),
  container_labels: uniqueContainerLabels(list('Container labels exported as container_label_<k> (characters outside [a-zA-Z0-9_] become `_`).', requiredStr('label', (s) => (s === '' ? 'must not be empty' : undefined)), [], '[]')),
  keep_stopped: duration('How long stopped and removed containers stay in metrics and the Zabbix endpoints (lifecycle figures: exit code, OOM kill, last seen).', '1h', 0, WEEK),
  scrape_cache: duration('A /metrics scrape reuses a sample younger than this, so scrapers within it share one sweep (0 = sample on every scrape).', '1s', 0, TEN_MINUTES),
  proc_root: path('Where the host\'s /proc is: the sampler reads /proc/<pid>/net/dev and /proc/<pid>/cgroup of container processes (e.g. /host/proc in a container without --pid host).', '/proc'),
  cgroup_root: nullable(requiredPath('Directory holding the host\'s cgroup hierarchy: a cgroup2 mount, or v1 controller directories (memory, cpu, cpuacct, blkio, pids).'), 'cgroup hierarchy location (null = detect from /proc/self/mountinfo).'),
  exclude_interfaces: list('Container network interfaces left out (exact names, or prefixes written `veth*`).', requiredStr('interface'), ['lo'], '[lo]'),
  host_exclude_interfaces: list('Host network interfaces left out of node_network_* and /v1/host (exact names or `prefix*`).', requiredStr('interface'), ['veth*'], '["veth*"]'),
  stats_api_fallback: bool('Read containers whose cgroup files are unreadable through the Docker stats API (one-shot) instead of leaving them out.', true),
});

export type MetricsConfig = Infer<typeof metricsConfig>;
