/**
 * Output endpoints from `outputs[i].hosts`: `host:port` for the socket outputs (beats, tcp), a
 * URL or `host:port` for http. Checked when the output is built, so a bad entry is a
 * configuration error naming its key path, not a runtime surprise.
 */
import { ConfigError } from '../core/errors.ts';
import type { ConfigProblem } from '../core/errors.ts';
import { parseHostPort } from '../config/values.ts';

export interface StreamEndpoint {
  /** As configured (`host:port`), for logs, stats and metric labels. */
  label: string;
  host: string;
  port: number;
}

export interface HttpEndpoint {
  label: string;
  /** `http://host:port` or `https://host:port`: what an undici Pool is made for. */
  origin: string;
  /** Request path (and query), `/` when the URL has none. */
  path: string;
  /** Host name or IP (brackets stripped), for the TLS name check. */
  hostname: string;
}

export function parseStreamEndpoints(hosts: readonly string[], keyPath: string): StreamEndpoint[] {
  const problems: ConfigProblem[] = [];
  const out: StreamEndpoint[] = [];
  hosts.forEach((text, i) => {
    const r = parseHostPort(text);
    if (typeof r === 'string') problems.push({ path: `${keyPath}[${i}]`, reason: r });
    else out.push({ label: text, host: r.host, port: r.port });
  });
  if (problems.length > 0) throw new ConfigError(problems);
  return out;
}

/** `host:port` becomes `http(s)://host:port/` (https when the output has `tls`). */
export function parseHttpEndpoints(hosts: readonly string[], tls: boolean, keyPath: string): HttpEndpoint[] {
  const problems: ConfigProblem[] = [];
  const out: HttpEndpoint[] = [];
  hosts.forEach((text, i) => {
    const path = `${keyPath}[${i}]`;
    let url: URL;
    try {
      url = new URL(/^[a-z][a-z0-9+.-]*:\/\//i.test(text) ? text : `${tls ? 'https' : 'http'}://${text}`);
    } catch {
      problems.push({ path, reason: `"${text}" is not a URL or host:port` });
      return;
    }
    if (url.protocol !== 'http:' && url.protocol !== 'https:') {
      problems.push({ path, reason: `"${text}": only http:// and https:// are supported` });
      return;
    }
    if (url.username || url.password) {
      problems.push({ path, reason: `"${text}": credentials in the URL would end up in logs and metrics; not supported` });
      return;
    }
    if (url.protocol === 'http:' && tls) {
      problems.push({ path, reason: `"${text}" is http:// but the output has tls settings; use https://` });
      return;
    }
    out.push({ label: text, origin: url.origin, path: `${url.pathname}${url.search}`, hostname: url.hostname.replace(/^\[|\]$/g, '') });
  });
  if (problems.length > 0) throw new ConfigError(problems);
  return out;
}
