/**
 * Who may talk to the API: a bearer token read from a file, and/or TLS client certificates
 * (docs/api.md; `api.token_file`, `api.tls`). Everything here is read at start (and on SIGHUP for
 * the token), so a bad file is a CONFIG_INVALID naming its key path, never a failure mid-request.
 */
import { createHash, createPrivateKey, timingSafeEqual, X509Certificate } from 'node:crypto';
import { open } from 'node:fs/promises';
import { DockhandError, errorMessage, systemCode } from '../core/errors.ts';

/** A token file larger than this is a misconfiguration (a key or a log pointed at by mistake). */
export const TOKEN_FILE_MAX_BYTES = 4096;

export interface TokenFile {
  token: string;
  /**
   * Readable or writable by other users: worth a warning, since the token grants API access.
   * Group bits are fine: the documented install is root:dockhand 0640.
   */
  looselyPermitted: boolean;
}

/**
 * Reads a file that must hold a secret or PEM, bounded in size, as a CONFIG_INVALID on any
 * failure. Bounded because `readFile` on a FIFO or /dev/zero would never return.
 */
async function readBounded(keyPath: string, path: string, maxBytes: number): Promise<{ data: Buffer; mode: number }> {
  let handle;
  try {
    handle = await open(path, 'r');
  } catch (err) {
    throw new DockhandError('CONFIG_INVALID', `${keyPath}: cannot read ${path}: ${systemCode(err) ?? errorMessage(err)}`, { cause: err });
  }
  try {
    const stat = await handle.stat();
    if (!stat.isFile()) throw new DockhandError('CONFIG_INVALID', `${keyPath}: ${path} is not a regular file`);
    if (stat.size > maxBytes) {
      throw new DockhandError('CONFIG_INVALID', `${keyPath}: ${path} is larger than ${maxBytes} bytes`);
    }
    const data = Buffer.alloc(stat.size);
    const { bytesRead } = await handle.read(data, 0, stat.size, 0);
    return { data: data.subarray(0, bytesRead), mode: stat.mode };
  } catch (err) {
    if (err instanceof DockhandError) throw err;
    throw new DockhandError('CONFIG_INVALID', `${keyPath}: cannot read ${path}: ${systemCode(err) ?? errorMessage(err)}`, { cause: err });
  } finally {
    await handle.close();
  }
}

/** Reads the bearer token: surrounding whitespace (the trailing newline editors add) is not part of it. */
export async function readTokenFile(path: string, keyPath = 'api.token_file'): Promise<TokenFile> {
  const { data, mode } = await readBounded(keyPath, path, TOKEN_FILE_MAX_BYTES);
  const token = data.toString('utf8').trim();
  if (token === '') throw new DockhandError('CONFIG_INVALID', `${keyPath}: ${path} is empty`);
  if (/\s/.test(token)) {
    // A header value cannot carry it as one token (RFC 6750 §2.1 b64token), so no client could match.
    throw new DockhandError('CONFIG_INVALID', `${keyPath}: ${path} holds whitespace inside the token`);
  }
  return { token, looselyPermitted: (mode & 0o007) !== 0 };
}

/** The token from an `Authorization: Bearer <token>` header; the scheme is case-insensitive (RFC 7235 §2.1). */
export function parseBearer(header: string | undefined): string | undefined {
  if (header === undefined) return undefined;
  const match = /^bearer +(\S+) *$/i.exec(header);
  return match?.[1];
}

function sha256(value: string): Buffer {
  return createHash('sha256').update(value, 'utf8').digest();
}

/**
 * Checks presented bearer tokens against the configured one. Both sides are hashed first so the
 * comparison is over two 32-byte digests: timingSafeEqual then runs in time independent of the
 * token's length and content, and the plain token is not kept in memory beyond the read.
 */
export class BearerTokenCheck {
  #digest: Buffer | null;

  constructor(token: string | null) {
    this.#digest = token === null ? null : sha256(token);
  }

  /** True when a token is configured and therefore required. */
  get enabled(): boolean {
    return this.#digest !== null;
  }

  set(token: string): void {
    this.#digest = sha256(token);
  }

  /** True when no token is configured, or the header carries the right one. */
  verify(authorization: string | undefined): boolean {
    if (this.#digest === null) return true;
    const presented = parseBearer(authorization);
    // Hash even when absent, so a missing header costs the same as a wrong one.
    const digest = sha256(presented ?? '');
    return timingSafeEqual(digest, this.#digest) && presented !== undefined;
  }
}

export interface TlsFiles {
  cert: string;
  key: string;
  client_ca: string | null;
}

export interface TlsMaterial {
  cert: Buffer;
  key: Buffer;
  /** CA bundle client certificates must chain to; null = no client certificates asked for. */
  clientCa: Buffer | null;
  /** When the server certificate stops being valid. */
  notAfter: Date;
}

const PEM_MAX_BYTES = 1024 * 1024;

function parseCertificate(keyPath: string, path: string, pem: Buffer): X509Certificate {
  try {
    return new X509Certificate(pem);
  } catch (err) {
    throw new DockhandError('CONFIG_INVALID', `${keyPath}: ${path} is not a PEM certificate: ${errorMessage(err)}`, { cause: err });
  }
}

/**
 * Reads and checks the server certificate, key and client CA, each error naming its key path. The
 * final createSecureContext catches what the per-file checks cannot: a key that does not belong
 * to the certificate.
 */
export async function loadTlsMaterial(files: TlsFiles, keyPath = 'api.tls'): Promise<TlsMaterial> {
  const cert = (await readBounded(`${keyPath}.cert`, files.cert, PEM_MAX_BYTES)).data;
  const key = (await readBounded(`${keyPath}.key`, files.key, PEM_MAX_BYTES)).data;
  const clientCa = files.client_ca === null ? null : (await readBounded(`${keyPath}.client_ca`, files.client_ca, PEM_MAX_BYTES)).data;

  const x509 = parseCertificate(`${keyPath}.cert`, files.cert, cert);
  try {
    createPrivateKey(key);
  } catch (err) {
    throw new DockhandError('CONFIG_INVALID', `${keyPath}.key: ${files.key} is not an unencrypted PEM private key: ${errorMessage(err)}`, {
      cause: err,
    });
  }
  if (clientCa !== null && files.client_ca !== null) parseCertificate(`${keyPath}.client_ca`, files.client_ca, clientCa);
  try {
    process.getBuiltinModule('node:tls').createSecureContext({ cert, key, ...(clientCa === null ? {} : { ca: clientCa }) });
  } catch (err) {
    throw new DockhandError('CONFIG_INVALID', `${keyPath}.key: ${files.key} does not fit ${keyPath}.cert ${files.cert}: ${errorMessage(err)}`, {
      cause: err,
    });
  }
  return { cert, key, clientCa, notAfter: x509.validToDate };
}

