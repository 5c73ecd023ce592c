/**
 * Reads certificate files for the audit: the first certificate's subject and expiry
 * (node:crypto X509Certificate), and whether the key file goes with it. Never throws: a file
 * that cannot be read or parsed is described (permission, missing, unparseable).
 */
import { X509Certificate, createPrivateKey } from 'node:crypto';
import { readFile, readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { systemCode } from '../core/errors.ts';
import type { CertFacts } from './cert-checks.ts';
import { readFailure } from './outcome.ts';

/** A certificate file to look at, with its key file when it has one. */
export interface CertSource {
  path: string;
  use: string;
  keyPath?: string;
}

const PEM_CERT = /-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g;

async function read(path: string): Promise<{ data: Buffer } | { failure: string }> {
  try {
    return { data: await readFile(path) };
  } catch (err) {
    return { failure: readFailure(systemCode(err)) };
  }
}

export async function certFacts(source: CertSource): Promise<CertFacts> {
  const facts: CertFacts = { path: source.path, use: source.use, status: 'ok' };
  if (source.keyPath !== undefined) facts.keyPath = source.keyPath;
  const file = await read(source.path);
  if ('failure' in file) return { ...facts, status: file.failure };
  const pem = file.data.toString('latin1').match(PEM_CERT)?.[0];
  let cert: X509Certificate;
  try {
    cert = new X509Certificate(pem ?? file.data);
  } catch {
    return { ...facts, status: 'unparseable', detail: 'not a PEM or DER certificate' };
  }
  facts.subject = cert.subject.replace(/\n/g, ', ');
  facts.notAfter = Date.parse(cert.validTo);
  if (source.keyPath !== undefined) {
    const key = await read(source.keyPath);
    if ('failure' in key) facts.key = key.failure;
    else {
      try {
        facts.key = cert.checkPrivateKey(createPrivateKey(key.data)) ? 'match' : 'mismatch';
      } catch {
        facts.key = 'unparseable';
      }
    }
  }
  return facts;
}

/** All certificates of one file (a CA bundle), as PEM strings; [] when unreadable. */
export async function pemCertificates(path: string): Promise<string[]> {
  const file = await read(path);
  return 'data' in file ? (file.data.toString('latin1').match(PEM_CERT) ?? []) : [];
}

export interface RegistryDir {
  /** The directory's name: the registry's host[:port]. */
  name: string;
  cas: string[];
  clients: { cert: string; key: string }[];
}

/** `/etc/docker/certs.d/<registry>/`: CA files (*.crt) and client pairs (*.cert + *.key), as Docker reads them. */
export async function registryDirs(certsDir: string): Promise<{ dirs: RegistryDir[]; failure?: string }> {
  let names: string[];
  try {
    names = (await readdir(certsDir, { withFileTypes: true })).filter((d) => d.isDirectory()).map((d) => d.name).sort();
  } catch (err) {
    const failure = readFailure(systemCode(err));
    return failure === 'missing' ? { dirs: [] } : { dirs: [], failure };
  }
  const dirs: RegistryDir[] = [];
  for (const name of names) {
    const files = await readdir(join(certsDir, name)).catch(() => [] as string[]);
    dirs.push({
      name,
      cas: files.filter((f) => f.endsWith('.crt')).sort().map((f) => join(certsDir, name, f)),
      clients: files.filter((f) => f.endsWith('.cert')).sort().map((f) => ({ cert: join(certsDir, name, f), key: join(certsDir, name, f.replace(/\.cert$/, '.key')) })),
    });
  }
  return { dirs };
}
