/** An AuditSource with findings and certificates (one expired), for the route and Zabbix template tests. */
import type { AuditSource } from '../../../src/audit/audit-routes.ts';

export const AUDIT_NOW = Date.parse('2026-12-01T00:00:00Z');

export function auditSource(): AuditSource {
  return {
    enabled: true,
    lastSweep: { at: '2026-12-01T00:00:00.000Z', durationMs: 40, containers: 2 },
    findings: () => [
      { check: 'container.privileged', cis: '5.4', severity: 'critical', title: 'Privileged container', target: 'container:dind', detail: 'runs with --privileged', remediation: 'r', firstSeen: '2026-11-30T00:00:00.000Z', containerId: 'a'.repeat(64), containerName: 'dind' },
      { check: 'daemon.no_live_restore', cis: '2.15', severity: 'low', title: 'Live restore disabled', target: 'daemon', detail: 'live-restore is off', remediation: 'r', firstSeen: '2026-11-30T00:00:00.000Z' },
    ],
    notChecked: () => [{ check: 'files.tls_key', target: '/etc/docker/key.pem', reason: 'permission' }],
    certificates: () => [
      { path: '/etc/docker/certs.d/reg.local:5000/ca.crt', use: 'registry reg.local:5000 CA', status: 'ok', subject: 'CN=reg CA', notAfter: AUDIT_NOW + 10 * 86_400_000 },
      { path: '/etc/dockhand/api.crt', use: 'api.tls.cert', status: 'ok', subject: 'CN=api', notAfter: AUDIT_NOW - 86_400_000 },
    ],
    checkOff: (check) => check === 'container.image_unpinned',
  };
}
