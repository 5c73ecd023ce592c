// The code's layering, held by a test rather than by memory (docs/architecture.md):
// - core/ (errors, timers, globs, state files …) and config/ (the schema language, the loader)
//   are generic: they import no capability folder;
// - data flows one way between capabilities: no two folders of src/ import each other, and the
//   folder graph has no cycle (a capability declares the instrumentation it needs and the
//   metrics side implements it, not the other way round);
// - one job per file: no source file over 400 lines.
import assert from 'node:assert/strict';
import { readFileSync, readdirSync } from 'node:fs';
import { dirname, join, normalize, relative } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';

const SRC = normalize(join(dirname(fileURLToPath(import.meta.url)), '..', '..', 'src'));
const MAX_LINES = 400;
const GENERIC = new Set(['core', 'config']);

interface SourceFile {
  /** Path under src/, e.g. `logs/collector.ts`. */
  path: string;
  /** Top-level folder, or `(top)` for src/*.ts. */
  folder: string;
  lines: number;
  /** Paths under src/ this file imports. */
  imports: string[];
}

function folderOf(path: string): string {
  return path.includes('/') ? (path.split('/')[0] as string) : '(top)';
}

function sources(dir = SRC): SourceFile[] {
  const out: SourceFile[] = [];
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const full = join(dir, entry.name);
    if (entry.isDirectory()) out.push(...sources(full));
    else if (entry.name.endsWith('.ts')) {
      const text = readFileSync(full, 'utf8');
      const imports = [...text.matchAll(/^(?:import|export)[^;]*?from '(\.[^']+)'/gms)].map((m) => relative(SRC, normalize(join(dirname(full), m[1] as string))));
      const path = relative(SRC, full);
      out.push({ path, folder: folderOf(path), lines: text.split('\n').length - (text.endsWith('\n') ? 1 : 0), imports });
    }
  }
  return out;
}

const files = sources();

test('the source tree was read', () => {
  assert.ok(files.length > 50, `${files.length} files`);
  assert.ok(files.some((f) => f.path === 'agent.ts'));
});

test('core/ and config/ import no capability', () => {
  const bad = files
    .filter((f) => GENERIC.has(f.folder))
    .flatMap((f) => f.imports.filter((i) => !GENERIC.has(folderOf(i)) || (f.folder === 'core' && folderOf(i) !== 'core')).map((i) => `${f.path} → ${i}`));
  assert.deepEqual(bad, []);
});

test('no two folders import each other, and the folder graph has no cycle', () => {
  const edges = new Map<string, Set<string>>();
  for (const f of files) {
    for (const i of f.imports) {
      const to = folderOf(i);
      if (to === f.folder) continue;
      if (!edges.has(f.folder)) edges.set(f.folder, new Set());
      edges.get(f.folder)?.add(to);
    }
  }
  const mutual = [...edges].flatMap(([a, tos]) => [...tos].filter((b) => a < b && edges.get(b)?.has(a)).map((b) => `${a} ⇄ ${b}`));
  assert.deepEqual(mutual, []);
  // depth-first search for a cycle
  const state = new Map<string, 'open' | 'done'>();
  const cycle: string[] = [];
  const visit = (node: string, trail: string[]): boolean => {
    if (state.get(node) === 'done') return false;
    if (state.get(node) === 'open') {
      cycle.push(...trail.slice(trail.indexOf(node)), node);
      return true;
    }
    state.set(node, 'open');
    for (const next of edges.get(node) ?? []) if (visit(next, [...trail, node])) return true;
    state.set(node, 'done');
    return false;
  };
  for (const node of edges.keys()) if (visit(node, [])) break;
  assert.deepEqual(cycle, [], `cycle: ${cycle.join(' → ')}`);
});

test(`no source file over ${MAX_LINES} lines`, () => {
  assert.deepEqual(files.filter((f) => f.lines > MAX_LINES).map((f) => `${f.path}: ${f.lines}`), []);
});
