/**
 * Which Node.js the agent runs on. main.ts asks this before it loads anything else, so this
 * module imports nothing: on an older Node a dependency fails while it is being imported (undici
 * calls `zlib.createZstdDecompress`, which Node 20 lacks, at load time), and the operator would
 * get a stack trace from inside node_modules instead of one line saying what is wrong.
 */

/** The oldest Node.js the agent supports: package.json `engines.node` (a unit test keeps them equal). */
export const REQUIRED_NODE = '22.19.0';

function parts(version: string): number[] | undefined {
  const m = /^v?(\d+)\.(\d+)\.(\d+)/.exec(version);
  return m ? [Number(m[1]), Number(m[2]), Number(m[3])] : undefined;
}

/**
 * Why `running` (e.g. `process.versions.node`) cannot run the agent, as one line; undefined when
 * it can. A version that does not parse is let through: the check exists to turn a known failure
 * into a clear message, not to second-guess unusual builds.
 */
export function unsupportedNode(running: string, required: string = REQUIRED_NODE): string | undefined {
  const have = parts(running);
  const need = parts(required);
  if (!have || !need) return undefined;
  for (let i = 0; i < 3; i++) {
    const h = have[i] as number;
    const n = need[i] as number;
    if (h > n) return undefined;
    if (h < n) {
      return `Node.js v${running.replace(/^v/, '')} is too old: dockhand needs Node.js >= ${required} ` +
        '(the release tarball and the Debian package bundle their own; see docs/operations.md)';
    }
  }
  return undefined;
}
