import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { buildNative, cannotBuild } from '../../../scripts/build-native.ts';
import { releaseMemory } from '../../../src/core/idle-memory.ts';
import { loadMallocTrim } from '../../../src/core/malloc-trim.ts';

const LOADER = fileURLToPath(new URL('../../../src/core/malloc-trim.ts', import.meta.url));
const IDLE = fileURLToPath(new URL('../../../src/core/idle-memory.ts', import.meta.url));

void describe('malloc_trim addon', () => {
  let dir = '';
  let object = '';
  before(() => {
    // CI installs gcc (.ci/run); the suite says why rather than skipping where it cannot build
    const why = cannotBuild();
    if (why !== undefined) throw new Error(`the addon cannot be built here: ${why}`);
    dir = mkdtempSync(path.join(tmpdir(), 'dockhand-malloc-trim-'));
    object = buildNative(dir);
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  void it('gives back the free memory between live allocations, which a collection leaves resident', () => {
    // 64 MB of 16 KiB buffers (malloc's main arena, below its mmap threshold); every 16th is kept,
    // so the free space lies between live chunks and glibc's own trim of the heap top cannot return it
    const script = `import { loadMallocTrim } from ${JSON.stringify(LOADER)}; import { releaseMemory } from ${JSON.stringify(IDLE)};
const load = loadMallocTrim(${JSON.stringify(object)});
let keep = [];
for (let i = 0; i < 4000; i++) keep.push(Buffer.alloc(16384, 1));
keep = keep.filter((_, i) => i % 16 === 0);
releaseMemory(); await new Promise((r) => setTimeout(r, 100)); releaseMemory();
const afterGc = process.memoryUsage.rss();
const trimmed = load.addon.trim();
console.log(JSON.stringify({ afterGc, trimmed, afterTrim: process.memoryUsage.rss(), kept: keep.length }));`;
    const r = JSON.parse(execFileSync(process.execPath, ['--input-type=module', '-e', script], { encoding: 'utf8' })) as { afterGc: number; trimmed: boolean; afterTrim: number; kept: number };
    assert.equal(r.kept, 250);
    assert.equal(r.trimmed, true);
    assert.ok(r.afterTrim < r.afterGc - 30e6, `RSS ${r.afterGc} → ${r.afterTrim}: ~60 MB lay free between live buffers`);
  });

  void it('releaseMemory runs the trim after its collection and reports its answer', () => {
    const load = loadMallocTrim(object);
    assert.ok(load.ok, load.ok ? '' : load.reason);
    const calls: string[] = [];
    const f = releaseMemory(() => {
      calls.push('trim');
      return load.addon.trim();
    });
    assert.deepEqual(calls, ['trim']);
    assert.equal(typeof f.trimmed, 'boolean');
    assert.equal('trimmed' in releaseMemory(), false, 'without a trim there is no answer to report');
  });

  void it('a missing or broken object is a reason, never a throw', () => {
    const missing = loadMallocTrim(path.join(dir, 'absent.node'));
    assert.deepEqual(missing, { ok: false, reason: 'not built (no C compiler when dist/ was built)' });
    const broken = path.join(dir, 'broken.node');
    writeFileSync(broken, 'not an ELF object\n');
    const load = loadMallocTrim(broken);
    assert.equal(load.ok, false);
    assert.match(load.ok ? '' : load.reason, /invalid ELF header|file too short/);
  });
});
