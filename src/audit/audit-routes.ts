/**
 * The audit's API: `GET /v1/audit[?severity=…]` (findings, what could not be checked, the
 * certificates read) and the Zabbix side — `/v1/zabbix/audit` (the master item's document: per
 * check counts, per certificate expiry), `/v1/zabbix/audit/checks` and
 * `/v1/zabbix/audit/certificates` (low-level discovery).
 */
import type { RouteDefinition } from '../api/routes.ts';
import { DockhandError } from '../core/errors.ts';
import { CHECKS, SEVERITIES } from './catalogue.ts';
import type { CertFacts } from './cert-checks.ts';
import type { Finding, NotChecked } from './outcome.ts';

/** What the routes read (the Auditor; tests give a fixture). */
export interface AuditSource {
  readonly enabled: boolean;
  readonly lastSweep: { at: string; durationMs: number; containers: number } | null;
  findings(): Finding[];
  notChecked(): NotChecked[];
  certificates(): CertFacts[];
  checkOff(check: string): boolean;
}

const RANK = new Map(SEVERITIES.map((s, i) => [s, i]));

function sorted(findings: Finding[]): Finding[] {
  return findings.sort((a, b) => (RANK.get(a.severity) ?? 9) - (RANK.get(b.severity) ?? 9) || a.check.localeCompare(b.check) || a.target.localeCompare(b.target));
}

export function auditDocument(source: AuditSource, severity: string | null): Record<string, unknown> {
  const all = source.findings();
  const summary = Object.fromEntries(SEVERITIES.map((s) => [s, all.filter((f) => f.severity === s).length]));
  const findings = severity === null ? all : all.filter((f) => f.severity === severity);
  return {
    enabled: source.enabled,
    lastSweep: source.lastSweep,
    summary,
    findings: sorted(findings),
    notChecked: source.notChecked(),
    certificates: source.certificates().filter((c) => c.notAfter !== undefined).map((c) => ({
      path: c.path, use: c.use, subject: c.subject ?? '', notAfter: new Date(c.notAfter as number).toISOString(),
    })),
  };
}

function daysLeft(notAfter: number, now: number): number {
  return Math.round(((notAfter - now) / 86_400_000) * 10) / 10;
}

export function zabbixAuditDocument(source: AuditSource, now = Date.now()): Record<string, unknown> {
  const counts = new Map<string, number>();
  for (const f of source.findings()) counts.set(f.check, (counts.get(f.check) ?? 0) + 1);
  return {
    enabled: source.enabled ? 1 : 0,
    findings: source.findings().length,
    notChecked: source.notChecked().length,
    checks: CHECKS.filter((c) => !source.checkOff(c.id)).map((c) => ({ check: c.id, severity: c.severity, findings: counts.get(c.id) ?? 0 })),
    certificates: source.certificates().filter((c) => c.notAfter !== undefined).map((c) => ({ path: c.path, daysLeft: daysLeft(c.notAfter as number, now) })),
  };
}

export function auditRoutes(source: AuditSource): RouteDefinition[] {
  return [
    {
      method: 'GET',
      pattern: '/v1/audit',
      handler: ({ query }) => {
        const severity = query.get('severity');
        if (severity !== null && !SEVERITIES.includes(severity as never)) {
          throw new DockhandError('BAD_REQUEST', `query parameter "severity" must be one of ${SEVERITIES.join(', ')}`);
        }
        return { json: auditDocument(source, severity) };
      },
    },
    { method: 'GET', pattern: '/v1/zabbix/audit', handler: () => ({ json: zabbixAuditDocument(source) }) },
    {
      method: 'GET',
      pattern: '/v1/zabbix/audit/checks',
      handler: () => ({
        json: {
          data: source.enabled
            ? CHECKS.filter((c) => !source.checkOff(c.id)).map((c) => ({ '{#AUDIT.CHECK}': c.id, '{#AUDIT.CIS}': c.cis ?? '-', '{#AUDIT.SEVERITY}': c.severity, '{#AUDIT.TITLE}': c.title }))
            : [],
        },
      }),
    },
    {
      method: 'GET',
      pattern: '/v1/zabbix/audit/certificates',
      handler: () => ({
        json: { data: source.certificates().filter((c) => c.notAfter !== undefined).map((c) => ({ '{#CERT.PATH}': c.path, '{#CERT.SUBJECT}': c.subject || '-', '{#CERT.USE}': c.use })) },
      }),
    },
  ];
}
