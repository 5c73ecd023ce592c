#!/usr/bin/env -S MALLOC_ARENA_MAX=2 node --max-semi-space-size=1 --heap-growing-percent=50
/**
 * The executable (`dockhand`, package.json `bin`): checks the Node.js version, then loads the CLI
 * (cli.ts).
 *
 * The check comes first and this module imports nothing but core/node-version.ts (which imports
 * nothing): every other module pulls in dependencies, and on an older Node one of them fails
 * while loading (undici on Node 20: `TypeError: Cannot read properties of undefined (reading
 * 'bind')`). A hand-made install whose PATH finds an old `node` gets one line and exit 1 instead.
 *
 * Memory tuning lives in the shebang, so every way of starting the agent (systemd, the image,
 * npm start) gets it; the release launcher (bin/dockhand, written by scripts/package.ts) and
 * tests and benches parse it from here. Measured with bench/logs.ts under full log load
 * (docs/logs.md, Benchmark):
 * - `--max-semi-space-size=1`: 1 MiB semi-spaces, ~15 MB less idle RSS; per-line objects die
 *   young anyway.
 * - `--heap-growing-percent=50`: after a major GC the old generation may grow 1.5×, not up to 4×,
 *   before the next one: peak RSS ~195 → ~155 MB for ~7 % more CPU per line.
 * - `MALLOC_ARENA_MAX=2`: glibc gives each of Node's ~10 threads (libuv pool, V8 GC and compiler
 *   helpers) its own 64 MB malloc arena otherwise; two arenas save ~10 MB at no measured CPU
 *   cost. Ignored by other C libraries.
 */
import { unsupportedNode } from './core/node-version.ts';

const problem = unsupportedNode(process.versions.node);
if (problem === undefined) {
  await import('./cli.ts');
} else {
  process.stderr.write(`dockhand: ${problem}\n`);
  // exitCode, not exit(): stderr is flushed first when it is a pipe (journald, Ansible)
  process.exitCode = 1;
}
