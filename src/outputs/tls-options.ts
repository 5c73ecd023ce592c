/**
 * TLS towards Logstash from `outputs[i].tls`. The files are read once, when the output is built
 * (an unreadable certificate is a configuration error with its key path, not a reconnect loop).
 * A `ca` replaces the system roots, which pins Logstash's CA; `server_name` is the name the
 * certificate must carry (default: the configured host, IP SANs included).
 */
import { readFileSync } from 'node:fs';
import { isIP } from 'node:net';
import { X509Certificate } from 'node:crypto';
import type { ConnectionOptions, PeerCertificate } from 'node:tls';
import { ConfigError, errorMessage, systemCode } from '../core/errors.ts';
import type { ConfigProblem } from '../core/errors.ts';
import type { OutputConfig } from './config.ts';

export interface OutputTls {
  ca: Buffer | null;
  cert: Buffer | null;
  key: Buffer | null;
  serverName: string | null;
  verify: boolean;
}

export function loadOutputTls(config: OutputConfig['tls'], keyPath: string): OutputTls | null {
  if (config === null) return null;
  const problems: ConfigProblem[] = [];
  const read = (key: 'ca' | 'cert' | 'key'): Buffer | null => {
    const file = config[key];
    if (!file) return null;
    try {
      return readFileSync(file);
    } catch (err) {
      problems.push({ path: `${keyPath}.${key}`, reason: `cannot read ${file}: ${systemCode(err) ?? errorMessage(err)}` });
      return null;
    }
  };
  const tls: OutputTls = { ca: read('ca'), cert: read('cert'), key: read('key'), serverName: config.server_name, verify: config.verify };
  if ((config.cert === null) !== (config.key === null)) problems.push({ path: keyPath, reason: 'cert and key go together' });
  if (problems.length === 0) checkTlsMaterial(tls, keyPath, problems);
  if (problems.length > 0) throw new ConfigError(problems);
  return tls;
}

/**
 * The files must hold what they claim, or every connection fails later in the handshake: a CA
 * file is one or more PEM certificates (Node would take a file with none silently and then trust
 * nothing), a certificate and key must be PEM and belong together.
 */
function checkTlsMaterial(tls: OutputTls, keyPath: string, problems: ConfigProblem[]): void {
  if (tls.ca) {
    const blocks = tls.ca.toString('latin1').match(/-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g) ?? [];
    if (blocks.length === 0) problems.push({ path: `${keyPath}.ca`, reason: 'holds no PEM certificate' });
    for (const block of blocks) {
      try {
        new X509Certificate(block);
      } catch (err) {
        problems.push({ path: `${keyPath}.ca`, reason: `a certificate in it does not parse: ${errorMessage(err)}` });
        break;
      }
    }
  }
  if (tls.cert && tls.key) {
    try {
      process.getBuiltinModule('node:tls').createSecureContext({ cert: tls.cert, key: tls.key });
    } catch (err) {
      problems.push({ path: `${keyPath}.cert`, reason: `certificate and key are not a usable pair: ${errorMessage(err)}` });
    }
  }
}

/** Options for tls.connect (and undici's connector) towards `host`. */
export function tlsConnectOptions(tls: OutputTls, host: string): ConnectionOptions {
  const name = tls.serverName ?? host;
  return {
    ...(tls.ca ? { ca: tls.ca } : {}),
    ...(tls.cert && tls.key ? { cert: tls.cert, key: tls.key } : {}),
    rejectUnauthorized: tls.verify,
    // SNI must not carry an IP address (RFC 6066 §3; Node warns, DEP0123); the identity check
    // below still verifies an IP against the certificate's IP SANs.
    ...(isIP(name) ? {} : { servername: name }),
    checkServerIdentity: (_host: string, cert: PeerCertificate) => process.getBuiltinModule('node:tls').checkServerIdentity(name, cert),
  };
}
