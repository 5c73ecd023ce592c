/** The agent's own certificate files, from its configuration: the audit watches their expiry too. */
import type { CertSource } from './certificates.ts';

interface TlsFiles {
  cert?: string | null;
  key?: string | null;
  ca?: string | null;
  client_ca?: string | null;
}

/** The parts of the configuration that name certificate files. */
export interface OwnTlsConfig {
  api: { tls: TlsFiles | null };
  docker: { tls: TlsFiles | null };
  outputs: readonly { tls?: TlsFiles | null }[];
}

function add(out: CertSource[], use: string, tls: TlsFiles | null | undefined): void {
  if (!tls) return;
  if (tls.cert) out.push({ path: tls.cert, use: `${use}.cert`, ...(tls.key ? { keyPath: tls.key } : {}) });
  if (tls.ca) out.push({ path: tls.ca, use: `${use}.ca` });
  if (tls.client_ca) out.push({ path: tls.client_ca, use: `${use}.client_ca` });
}

export function ownCertificates(config: OwnTlsConfig): CertSource[] {
  const out: CertSource[] = [];
  add(out, 'api.tls', config.api.tls);
  add(out, 'docker.tls', config.docker.tls);
  config.outputs.forEach((o, i) => add(out, `outputs[${i}].tls`, o.tls));
  return out;
}
