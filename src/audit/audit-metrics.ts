/**
 * Prometheus figures of the audit: findings by check and severity (one series per check run —
 * the catalogue bounds them; no per-container label), the expiry time of each certificate file
 * looked at (the files bound them), and when the last sweep ran.
 */
import { Gauge } from 'prom-client';
import { globToRegExp } from '../core/glob.ts';
import type { Registry } from 'prom-client';
import { CHECKS } from './catalogue.ts';
import type { Auditor } from './auditor.ts';

export function registerAuditMetrics(registry: Registry, auditor: Auditor): void {
  const registers = [registry];
  new Gauge({
    name: 'dockhand_audit_findings',
    help: 'Current audit findings by check id and severity (0 for a check that runs and finds nothing; docs/audit.md).',
    labelNames: ['check', 'severity'],
    registers,
    collect() {
      this.reset();
      if (!auditor.enabled) return;
      const counts = new Map<string, number>();
      for (const f of auditor.findings()) counts.set(f.check, (counts.get(f.check) ?? 0) + 1);
      for (const c of CHECKS) if (!auditor.checkOff(c.id)) this.set({ check: c.id, severity: c.severity }, counts.get(c.id) ?? 0);
    },
  });
  let allowed: { globs: readonly string[]; res: RegExp[] } = { globs: [], res: [] };
  new Gauge({
    name: 'dockhand_audit_container_findings',
    help: 'Audit findings of the containers named in audit.metric_containers (an allow-list: no other container gets a series), by check and severity.',
    labelNames: ['name', 'check', 'severity'],
    registers,
    collect() {
      this.reset();
      const globs = auditor.metricContainers();
      if (globs.length === 0 || !auditor.enabled) return;
      if (allowed.globs !== globs) allowed = { globs, res: globs.map(globToRegExp) };
      for (const f of auditor.findings()) {
        const name = f.containerName;
        if (name !== undefined && allowed.res.some((re) => re.test(name))) this.set({ name, check: f.check, severity: f.severity }, 1);
      }
    },
  });
  new Gauge({
    name: 'dockhand_audit_not_checked',
    help: 'Audit targets a check could not look at (e.g. a root-only file under an unprivileged agent), by check.',
    labelNames: ['check'],
    registers,
    collect() {
      this.reset();
      const counts = new Map<string, number>();
      for (const n of auditor.notChecked()) counts.set(n.check, (counts.get(n.check) ?? 0) + 1);
      for (const [check, n] of counts) this.set({ check }, n);
    },
  });
  new Gauge({
    name: 'dockhand_tls_certificate_expiry_timestamp_seconds',
    help: 'Expiry (notAfter) of each certificate file the audit reads: the daemon\'s TLS files, certs.d, the agent\'s own API and output certificates.',
    labelNames: ['path', 'subject'],
    registers,
    collect() {
      this.reset();
      for (const c of auditor.certificates()) if (c.notAfter !== undefined) this.set({ path: c.path, subject: c.subject ?? '' }, Math.floor(c.notAfter / 1000));
    },
  });
  new Gauge({
    name: 'dockhand_audit_last_sweep_timestamp_seconds',
    help: 'When the last full audit sweep (daemon, files, certificates, registries, every container) started.',
    registers,
    collect() {
      this.reset();
      const at = auditor.lastSweep?.at;
      if (at) this.set(Math.floor(Date.parse(at) / 1000));
    },
  });
}
