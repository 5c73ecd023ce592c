/**
 * One sweep of the host-wide checks: gather (host-inputs.ts, certificates.ts), run the pure
 * checks, probe the registries the configuration names. Returns the outcomes and the
 * certificates seen (for the expiry metric and the API).
 */
import type { CertFacts } from './cert-checks.ts';
import { checkCertificates } from './cert-checks.ts';
import { certFacts, pemCertificates, registryDirs } from './certificates.ts';
import type { CertSource } from './certificates.ts';
import { checkDaemon, checkFiles } from './daemon-checks.ts';
import { gatherHostInputs } from './host-inputs.ts';
import type { HostInputOptions } from './host-inputs.ts';
import { fail, notChecked } from './outcome.ts';
import type { Outcome } from './outcome.ts';
import { probeRegistry } from './registry-probe.ts';

export interface HostSweepOptions extends HostInputOptions {
  certsDir: string;
  registryTimeoutMs: number;
  /** The agent's own certificate files (api.tls, outputs[].tls, docker.tls). */
  ownCertificates: readonly CertSource[];
  /** Checks not to run (excluded everywhere). */
  skip: (check: string) => boolean;
}

export interface HostSweep {
  outcomes: Outcome[];
  certificates: CertFacts[];
}

/** A registry named as `host:port` or `https://host:port/` (a mirror URL) → `host:port` as certs.d names it. */
export function registryName(ref: string): string | undefined {
  if (/^\d+\.\d+\.\d+\.\d+\/\d+$/.test(ref) || ref.includes('/') && !/^https?:\/\//.test(ref)) return undefined; // a CIDR
  try {
    const url = new URL(/^https?:\/\//.test(ref) ? ref : `https://${ref}`);
    if (url.protocol === 'http:') return undefined; // a plain-HTTP mirror has no TLS to check
    return url.host;
  } catch {
    return undefined;
  }
}

export async function runHostSweep(o: HostSweepOptions, now = Date.now()): Promise<HostSweep> {
  const inputs = await gatherHostInputs(o);
  const outcomes = [...checkDaemon(inputs.daemon), ...checkFiles(inputs.files)];

  const sources: CertSource[] = [];
  const s = inputs.settings;
  if (s?.tlscacert) sources.push({ path: s.tlscacert, use: 'daemon --tlscacert' });
  if (s?.tlscert) sources.push({ path: s.tlscert, use: 'daemon --tlscert', ...(s.tlskey ? { keyPath: s.tlskey } : {}) });
  const { dirs, failure } = await registryDirs(o.certsDir);
  if (failure) outcomes.push(notChecked('cert.expiring', o.certsDir, failure));
  for (const d of dirs) {
    for (const ca of d.cas) sources.push({ path: ca, use: `registry ${d.name} CA` });
    for (const c of d.clients) sources.push({ path: c.cert, use: `registry ${d.name} client`, keyPath: c.key });
  }
  sources.push(...o.ownCertificates);
  const certificates = await Promise.all(sources.map(certFacts));
  outcomes.push(...checkCertificates(certificates, now));

  if (!o.skip('registry.tls')) {
    const names = new Map<string, string[]>();
    for (const d of dirs) names.set(d.name, d.cas);
    for (const ref of [...(s?.insecureRegistries ?? []), ...(s?.registryMirrors ?? [])]) {
      const name = registryName(ref);
      if (name !== undefined && !names.has(name)) names.set(name, []);
    }
    for (const [name, caFiles] of names) {
      const cas = (await Promise.all(caFiles.map(pemCertificates))).flat();
      const r = await probeRegistry(name, cas, o.registryTimeoutMs);
      const target = `registry:${name}`;
      const with_ = caFiles.length > 0 ? ` (CA ${caFiles.join(', ')})` : ' (system CAs only)';
      if (r.outcome === 'tls') outcomes.push(fail('registry.tls', target, `${r.detail}${with_}`));
      else if (r.outcome === 'unreachable') outcomes.push(notChecked('registry.tls', target, `unreachable: ${r.detail}`));
    }
  }
  return { outcomes: outcomes.filter((x) => !o.skip(x.check)), certificates };
}
