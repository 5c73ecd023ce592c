/**
 * A throw-away PKI made with the openssl CLI for TLS tests: CAs, server certificates for
 * 127.0.0.1/localhost and client certificates, EC P-256, valid two days.
 */
import { execFile } from 'node:child_process';
import { randomInt } from 'node:crypto';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);

const OPENSSL_CNF = [
  '[req]', 'distinguished_name = dn', 'prompt = no', '[dn]', 'CN = placeholder',
  '[ca_ext]', 'basicConstraints = critical, CA:TRUE', 'keyUsage = critical, keyCertSign, cRLSign', 'subjectKeyIdentifier = hash',
  '[server_ext]', 'basicConstraints = CA:FALSE', 'keyUsage = critical, digitalSignature', 'extendedKeyUsage = serverAuth',
  'subjectAltName = IP:127.0.0.1, DNS:localhost',
  '[client_ext]', 'basicConstraints = CA:FALSE', 'keyUsage = critical, digitalSignature', 'extendedKeyUsage = clientAuth', '',
].join('\n');

export interface Pki {
  dir: string;
  /** Path of `<name>.crt` / `<name>.key` (pass the file name). */
  path(file: string): string;
  /** Contents of a file, e.g. pem('ca.crt'). */
  pem(file: string): Buffer;
  cleanup(): Promise<void>;
}

export interface PkiSpec {
  cas: string[];
  /** [name, signing CA, kind] */
  leaves: [string, string, 'server' | 'client'][];
}

export async function createPki(spec: PkiSpec): Promise<Pki> {
  const dir = await mkdtemp(join(tmpdir(), 'dockhand-pki-'));
  const openssl = (...args: string[]): Promise<unknown> => run('openssl', args, { cwd: dir });
  await writeFile(join(dir, 'openssl.cnf'), OPENSSL_CNF);
  await Promise.all(
    spec.cas.map((name) =>
      openssl('req', '-x509', '-new', '-config', 'openssl.cnf', '-extensions', 'ca_ext', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256',
        '-nodes', '-keyout', `${name}.key`, '-out', `${name}.crt`, '-days', '2', '-subj', `/CN=${name}`),
    ),
  );
  await Promise.all(
    spec.leaves.map(async ([name, ca, kind]) => {
      await openssl('req', '-new', '-config', 'openssl.cnf', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes',
        '-keyout', `${name}.key`, '-out', `${name}.csr`, '-subj', `/CN=${name}`);
      await openssl('x509', '-req', '-in', `${name}.csr`, '-CA', `${ca}.crt`, '-CAkey', `${ca}.key`, '-set_serial', String(randomInt(1, 2 ** 47)),
        '-days', '2', '-extfile', 'openssl.cnf', '-extensions', `${kind}_ext`, '-out', `${name}.crt`);
    }),
  );
  const cache = new Map<string, Buffer>();
  for (const name of [...spec.cas, ...spec.leaves.map(([n]) => n)]) {
    for (const ext of ['crt', 'key']) cache.set(`${name}.${ext}`, await readFile(join(dir, `${name}.${ext}`)));
  }
  return {
    dir,
    path: (file) => join(dir, file),
    pem(file) {
      const b = cache.get(file);
      if (!b) throw new Error(`no ${file} in this PKI`);
      return b;
    },
    cleanup: () => rm(dir, { recursive: true, force: true }),
  };
}

const EXPIRED_CA_CNF = [
  '[ca]', 'default_ca = ca_default', '[ca_default]', 'database = index.txt', 'new_certs_dir = .', 'serial = serial', 'default_md = sha256',
  'policy = policy_any', '[policy_any]', 'commonName = supplied', '[req]', 'distinguished_name = dn', 'prompt = no', '[dn]', 'CN = placeholder',
  '[ca_ext]', 'basicConstraints = critical, CA:TRUE', 'keyUsage = critical, keyCertSign, cRLSign', '',
].join('\n');

/**
 * A self-signed CA that expired long ago (valid 2020-01-01 to 2020-02-01), as `<dir>/<name>.crt`
 * and `.key`: `openssl ca -selfsign` takes explicit dates where `req -x509` (OpenSSL 3.0) does not.
 */
export async function createExpiredCa(dir: string, name: string): Promise<string> {
  const openssl = (...args: string[]): Promise<unknown> => run('openssl', args, { cwd: dir });
  await writeFile(join(dir, 'expired-ca.cnf'), EXPIRED_CA_CNF);
  await writeFile(join(dir, 'index.txt'), '');
  await writeFile(join(dir, 'serial'), '01\n');
  await openssl('req', '-new', '-config', 'expired-ca.cnf', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes',
    '-keyout', `${name}.key`, '-out', `${name}.csr`, '-subj', `/CN=${name}`);
  await openssl('ca', '-batch', '-config', 'expired-ca.cnf', '-selfsign', '-keyfile', `${name}.key`, '-in', `${name}.csr`, '-out', `${name}.crt`,
    '-startdate', '20200101000000Z', '-enddate', '20200201000000Z', '-extensions', 'ca_ext', '-notext');
  return join(dir, `${name}.crt`);
}
