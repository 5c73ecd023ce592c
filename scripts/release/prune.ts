// Drops from the release's node_modules what Node.js never loads: type declarations, source maps,
// documentation, the packages' own tests and shell scripts, editor and VCS dotfiles, and each
// package's command-line scripts (its package.json `bin`: the agent runs none of them); and clears
// execute bits, since node only reads modules. License texts are always kept. Lintian would flag much of it (npm/eslint/VCS dotfiles, `#!/usr/bin/env node`
// scripts without a dependency on Debian's nodejs, HTML pages loading scripts from CDNs), and the
// rest is weight on every host. The release tests run the agent from the pruned tree.
import { chmodSync, existsSync, lstatSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import path from 'node:path';

/** Directories of a package's root that hold no runtime code. */
const PACKAGE_ROOT_DIRS = new Set(['test', 'tests', '__tests__', 'docs', 'doc', 'example', 'examples', 'benchmark', 'benchmarks', 'bench']);
/** File endings that are never loaded at run time. */
const DROP_SUFFIXES = ['.d.ts', '.d.mts', '.d.cts', '.map', '.ts', '.mts', '.cts', '.md', '.markdown', '.html', '.sh'];
const KEEP = /^(licen[cs]e|copying|notice)/i;

export interface PruneResult { files: number; bytes: number }

function remove(p: string, result: PruneResult): void {
  const st = lstatSync(p);
  if (st.isDirectory()) {
    for (const entry of readdirSync(p)) remove(path.join(p, entry), result);
  } else {
    result.files++;
    result.bytes += st.size;
  }
  rmSync(p, { recursive: true, force: true });
}

/** The files a package's package.json `bin` names. */
function binScripts(dir: string): string[] {
  const manifest = path.join(dir, 'package.json');
  if (!existsSync(manifest)) return [];
  const { bin } = JSON.parse(readFileSync(manifest, 'utf8')) as { bin?: unknown };
  const paths = typeof bin === 'string' ? [bin] : bin && typeof bin === 'object' ? Object.values(bin) : [];
  return paths.filter((p): p is string => typeof p === 'string').map((p) => path.join(dir, p));
}

function prunePackageTree(dir: string, isPackageRoot: boolean, result: PruneResult): void {
  if (isPackageRoot) for (const script of binScripts(dir)) if (existsSync(script)) remove(script, result);
  for (const entry of readdirSync(dir)) {
    const full = path.join(dir, entry);
    const st = lstatSync(full);
    if (entry.startsWith('.')) {
      remove(full, result);
    } else if (st.isDirectory()) {
      if (entry === 'node_modules') pruneNodeModules(full, result);
      else if (isPackageRoot && PACKAGE_ROOT_DIRS.has(entry)) remove(full, result);
      else {
        prunePackageTree(full, false, result);
        // a directory that held only declarations or docs goes too
        if (readdirSync(full).length === 0) rmSync(full, { recursive: true });
        else chmodSync(full, 0o755);
      }
    } else if (!KEEP.test(entry) && DROP_SUFFIXES.some((s) => entry.endsWith(s))) {
      remove(full, result);
    } else if (st.isFile()) {
      chmodSync(full, 0o644);
    }
  }
}

/** Prunes every package under a node_modules directory (scoped ones included); returns what went. */
export function pruneNodeModules(nodeModules: string, result: PruneResult = { files: 0, bytes: 0 }): PruneResult {
  for (const entry of readdirSync(nodeModules)) {
    const full = path.join(nodeModules, entry);
    if (entry.startsWith('.')) remove(full, result);
    else if (entry.startsWith('@')) for (const scoped of readdirSync(full)) prunePackageTree(path.join(full, scoped), true, result);
    else prunePackageTree(full, true, result);
  }
  return result;
}
