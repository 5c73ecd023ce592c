// bin/dockhand of a release: a POSIX sh script that runs dist/main.js on the bundled Node.js with
// the environment and node flags of dist/main.js's shebang (the memory settings explained in
// src/main.ts), so the packaged agent runs exactly as `npm start` does, whatever node the host
// has on its PATH, or none.

export interface Shebang {
  /** `NAME=value` assignments `env -S` makes before node. */
  env: [string, string][];
  /** node's own flags. */
  flags: string[];
}

/** What the release's dist/main.js has in place of its shebang, which bin/dockhand took over. */
export const TAKEN_OVER_SHEBANG = '// run by bin/dockhand: ';

/** Parses `#!/usr/bin/env -S [NAME=value …] node [--flag …]`; throws on any other form. */
export function parseShebang(firstLine: string): Shebang {
  const m = /^#!\S*env -S((?:\s+[A-Z_][A-Z0-9_]*=\S*)*)\s+node((?:\s+--\S+)*)\s*$/.exec(firstLine);
  if (!m) throw new Error(`unexpected shebang (expected "#!/usr/bin/env -S [NAME=value …] node [--flag …]"): ${firstLine}`);
  const env = (m[1] ?? '').trim().split(/\s+/).filter(Boolean).map((a): [string, string] => [a.slice(0, a.indexOf('=')), a.slice(a.indexOf('=') + 1)]);
  return { env, flags: (m[2] ?? '').trim().split(/\s+/).filter(Boolean) };
}

/** Single-quotes `s` for sh. */
function quote(s: string): string {
  return /^[\w@%+=:,./-]+$/.test(s) ? s : `'${s.replaceAll("'", "'\\''")}'`;
}

export function launcherScript(shebang: Shebang): string {
  return `#!/bin/sh
# dockhand launcher (written by scripts/package.ts): runs the agent on the Node.js bundled in
# this release with the environment and flags of the shebang of src/main.ts (the memory
# settings explained there; the first line of dist/main.js), whatever node the PATH has, or none.
# /usr/bin/dockhand is a symbolic link to this file; readlink -f finds the release through it.
root=$(dirname "$(dirname "$(readlink -f "$0")")")
${shebang.env.map(([k, v]) => `export ${k}=${quote(v)}`).join('\n')}
exec "$root/node/bin/node" ${shebang.flags.map(quote).join(' ')} "$root/dist/main.js" "$@"
`;
}
