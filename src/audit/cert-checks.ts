/**
 * Certificate checks: pure functions over what was read of each certificate file (see
 * certificates.ts): expiry within 30 days, unreadable files, a key that does not match.
 */
import { fail, notChecked } from './outcome.ts';
import type { Outcome } from './outcome.ts';

export const EXPIRY_WARNING_MS = 30 * 86_400_000;

/** One certificate file the audit looked at. */
export interface CertFacts {
  path: string;
  /** Where it is used: `daemon tls`, `registry <host>`, `api.tls`, `outputs[0].tls` … */
  use: string;
  /** `ok`, `missing`, `permission`, `unparseable`, or an error code. */
  status: string;
  /** First certificate of the file. */
  subject?: string;
  /** Unix ms. */
  notAfter?: number;
  /** The key file that goes with it, when there is one. */
  keyPath?: string;
  /** `match`, `mismatch`, `permission`, `unparseable`, `missing` or an error code. */
  key?: string;
  detail?: string;
}

function days(ms: number): string {
  const d = Math.floor(Math.abs(ms) / 86_400_000);
  return `${d} day${d === 1 ? '' : 's'}`;
}

export function checkCertificates(certs: readonly CertFacts[], now: number): Outcome[] {
  const out: Outcome[] = [];
  for (const c of certs) {
    if (c.status === 'missing') continue;
    if (c.status === 'permission') {
      out.push(notChecked('cert.expiring', c.path, 'permission'));
      continue;
    }
    if (c.status !== 'ok' || c.notAfter === undefined) {
      out.push(fail('cert.unreadable', c.path, `${c.use}: ${c.detail ?? c.status}`));
      continue;
    }
    const left = c.notAfter - now;
    const when = new Date(c.notAfter).toISOString();
    if (left <= 0) out.push(fail('cert.expiring', c.path, `${c.use}: ${c.subject ?? ''} expired ${when} (${days(left)} ago)`));
    else if (left < EXPIRY_WARNING_MS) out.push(fail('cert.expiring', c.path, `${c.use}: ${c.subject ?? ''} expires ${when} (in ${days(left)})`));
    if (c.keyPath !== undefined && c.key !== undefined && c.key !== 'match' && c.key !== 'missing') {
      if (c.key === 'mismatch') out.push(fail('cert.key_mismatch', c.keyPath, `${c.use}: ${c.keyPath} is not the key of ${c.path}`));
      else if (c.key === 'permission') out.push(notChecked('cert.key_mismatch', c.keyPath, 'permission'));
      else out.push(fail('cert.unreadable', c.keyPath, `${c.use}: key ${c.key}`));
    }
  }
  return out;
}
