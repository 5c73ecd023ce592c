/** The `audit` section of the configuration: the host security audit (docs/audit.md). */
import type { Infer } from '../config/schema-dsl.ts';
import { bool, duration, list, obj, requiredStr } from '../config/schema-dsl.ts';
import { TEN_MINUTES, WEEK } from '../config/units.ts';
import { path } from '../config/values.ts';
import { excludeEntryProblem } from './exclude.ts';

export const auditConfig = obj('Host security audit: daemon, container, certificate and registry checks (docs/audit.md).', {
  enabled: bool('Run the audit (findings in /v1/audit, metrics, Zabbix, agent events).', true),
  exclude: list('Findings left out: a check id glob (`container.root_user`, `container.no_*`), a container name glob (`container:ci-*`), or both (`container.privileged@dind`).', requiredStr('entry', excludeEntryProblem), [], '[]'),
  interval: duration('Between sweeps of the daemon, file, certificate and registry checks (containers are re-checked on their events).', '1h', 1000, WEEK),
  daemon_config: path('The daemon\'s configuration file, when its command line names none with --config-file.', '/etc/docker/daemon.json'),
  certs_dir: path('Docker\'s per-registry certificate directories (certs.d/<registry>/ca.crt, client.cert, client.key).', '/etc/docker/certs.d'),
  metric_containers: list('Container names (globs) whose findings are also exported per container, as dockhand_audit_container_findings{name,check,severity}: an allow-list, so the series stay bounded (default none).', requiredStr('name glob', (s) => (s.trim() === '' ? 'must not be empty' : undefined)), [], '[]'),
  registry_timeout: duration('Bound on one registry TLS check (connect, handshake, GET /v2/).', '5s', 100, TEN_MINUTES),
});

export type AuditConfig = Infer<typeof auditConfig>;
