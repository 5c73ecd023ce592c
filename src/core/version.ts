/** The agent's version, from package.json (one source of truth for `dockhand version`, metrics and the API). */
import { readFileSync } from 'node:fs';

function readVersion(): string {
  // src/core/version.ts and dist/core/version.js both sit two levels below the package root.
  const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version?: unknown };
  return typeof pkg.version === 'string' ? pkg.version : '0.0.0';
}

export const VERSION = readVersion();
