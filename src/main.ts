#!/usr/bin/env -S MALLOC_ARENA_MAX=2 node --max-semi-space-size=4 --heap-growing-percent=50 --no-maglev --no-sparkplug
/**
 * The executable (`dockhand`, package.json `bin`): checks the Node.js version, then loads the CLI
 * (cli.ts).
 *
 * The check comes first and this module imports nothing but core/node-version.ts (which imports
 * nothing) before it: every other module pulls in dependencies, and on an older Node one of them fails
 * while loading (undici on Node 20: `TypeError: Cannot read properties of undefined (reading
 * 'bind')`). A hand-made install whose PATH finds an old `node` gets one line and exit 1 instead.
 *
 * Memory tuning lives in the shebang, so every way of starting the agent (systemd, the image,
 * npm start) gets it; the release launcher (bin/dockhand, written by scripts/package.ts) and
 * tests and benches parse it from here. Measured with bench/logs.ts under full log load
 * (docs/logs.md, Benchmark):
 * - `--max-semi-space-size=4`: young-generation semi-spaces up to 4 MiB. At 1 MiB (the setting
 *   until December 2026) scavenges ran so often under full load that GC was the largest item of
 *   the profile: 4 MiB costs 23-28 % less CPU per line (tcp 2.23-2.33 -> 1.58-1.67 µs, beats
 *   2.38-2.57 -> 1.87-1.95, three alternating runs each) for ~5 MB more idle RSS (bench/idle)
 *   and the same peak RSS; 16 MiB gains nothing more and adds ~25 MB of peak. The idle cost is
 *   not the semi-spaces (the young generation shrinks back to 1 MB when idle) but the pages they
 *   grew into at start, which V8 keeps in its page pool (`--trace-gc`: "pooled: 7 MB") until a
 *   memory-reducing GC that its memory reducer, judging the allocation rate high, never starts.
 *   `--optimize-for-size` releases them but caps the semi-spaces at 1 MiB again (4× the
 *   scavenges), so it is not used.
 * - `--heap-growing-percent=50`: after a major GC the old generation may grow 1.5×, not up to 4×,
 *   before the next one: peak RSS ~195 → ~155 MB for ~7 % more CPU per line.
 * - `--no-maglev`: V8's mid-tier compiler off; functions go from the interpreter and its baseline
 *   code straight to TurboFan. Maglev is for code that must be fast within its first thousand
 *   calls (a web page); the agent's hot paths run millions of times and end in TurboFan either
 *   way. An idle agent holds ~1.8 MB less RSS (Maglev's machine code, pages of the Node binary,
 *   stays untouched; bench/idle), at the same CPU per line under full load (tcp 1.18-1.46 vs
 *   1.20-1.50 µs, beats 1.63-2.05 vs 1.60-2.04, eight and four alternating runs) and at a trickle.
 * - `--no-sparkplug`: no baseline machine code either; warm functions stay in the interpreter
 *   until they are hot enough for TurboFan. The baseline code of everything run at start-up held
 *   ~1.4 MB of an idle agent's code space (1.57 -> 0.20 MB, v8.getHeapSpaceStatistics), and
 *   compiling it cost CPU: under full load 1.16-1.21 vs 1.21-1.29 µs per line (tcp, six
 *   alternating runs, lower in all six; beats 1.58-1.62 vs 1.60-1.70), the same at a trickle
 *   (30.3-42.1 vs 33.0-36.0 µs per line, four runs each: noise).
 * - `MALLOC_ARENA_MAX=2`: glibc gives each of Node's ~10 threads (libuv pool, V8 GC and compiler
 *   helpers) its own 64 MB malloc arena otherwise; two arenas save ~10 MB at no measured CPU
 *   cost. Ignored by other C libraries.
 */
import { unsupportedNode } from './core/node-version.ts';

const problem = unsupportedNode(process.versions.node);
if (problem === undefined) {
  // before any dependency loads: tls only when something uses it (src/core/lazy-builtins.ts)
  (await import('./core/lazy-builtins.ts')).deferBuiltins();
  await import('./cli.ts');
} else {
  process.stderr.write(`dockhand: ${problem}\n`);
  // exitCode, not exit(): stderr is flushed first when it is a pipe (journald, Ansible)
  process.exitCode = 1;
}
