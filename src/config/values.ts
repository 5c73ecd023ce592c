/**
 * Value types the configuration's keys share, as schema nodes: `host:port` addresses, absolute
 * paths, and files or directories the agent will need at start — recorded while decoding so the
 * loader can check them (a missing certificate caught by `check-config` beats a failure at 3 am).
 */
import { isIP } from 'node:net';
import { isAbsolute } from 'node:path';
import type { SchemaNode } from './schema-dsl.ts';
import { requiredStr, str } from './schema-dsl.ts';

export interface HostPort {
  host: string;
  port: number;
}

const HOSTNAME = /^(?=.{1,253}$)[a-zA-Z0-9]([a-zA-Z0-9-]{0,61}[a-zA-Z0-9])?(\.[a-zA-Z0-9]([a-zA-Z0-9-]{0,61}[a-zA-Z0-9])?)*$/;

/** A DNS host name (RFC 1123 labels). */
export function isHostName(s: string): boolean {
  return HOSTNAME.test(s);
}

/** `host:port`, `[v6]:port`; returns an error message or the parts. */
export function parseHostPort(text: string): HostPort | string {
  const m = /^\[([^\]]+)\]:(\d+)$/.exec(text) ?? /^([^:[\]]+):(\d+)$/.exec(text);
  if (!m) return `"${text}" is not host:port (IPv6 as [::1]:port)`;
  const host = m[1] as string;
  const port = Number(m[2]);
  if (!(isIP(host) || isHostName(host))) return `"${host}" is not an IP address or host name`;
  if (port < 1 || port > 65535) return `port ${port} is out of range`;
  return { host, port };
}

export function hostPort(doc: string, def: string): SchemaNode<HostPort> {
  const defaultValue = parseHostPort(def);
  if (typeof defaultValue === 'string') throw new Error(defaultValue);
  const base = str(doc, def, (s) => {
    const r = parseHostPort(s);
    return typeof r === 'string' ? r : undefined;
  });
  return {
    ...base,
    typeName: 'host:port',
    decode(raw, path, ctx) {
      const text = base.decode(raw, path, ctx);
      const r = parseHostPort(text);
      return typeof r === 'string' ? defaultValue : r;
    },
  };
}

export function absolutePath(s: string): string | undefined {
  if (s === '') return 'must not be empty';
  if (!isAbsolute(s)) return `"${s}" is not an absolute path`;
  if (s.includes('\0')) return 'contains a NUL byte';
  return undefined;
}

export const path = (doc: string, def: string): SchemaNode<string> => ({ ...str(doc, def, absolutePath), typeName: 'path' });
export const requiredPath = (doc: string): SchemaNode<string> => ({ ...requiredStr(doc, absolutePath), typeName: 'path' });

/** A file the agent reads at start (a token, a certificate): checked to be readable when the configuration is loaded. */
export function readableFile(doc: string): SchemaNode<string> {
  const base = requiredPath(doc);
  return {
    ...base,
    decode(raw, p, ctx) {
      const file = base.decode(raw, p, ctx);
      if (file !== '') ctx.files.push({ path: p, file, kind: 'file' });
      return file;
    },
  };
}

/** A directory the agent creates if missing: checked to be (or to be creatable as) a directory. */
export function directory(doc: string, def: string): SchemaNode<string> {
  const base = path(doc, def);
  return {
    ...base,
    decode(raw, p, ctx) {
      const dir = base.decode(raw, p, ctx);
      ctx.files.push({ path: p, file: dir, kind: 'directory' });
      return dir;
    },
  };
}
