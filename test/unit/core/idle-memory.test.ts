import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { releaseMemoryWhenIdle, shouldRelease } from '../../../src/core/idle-memory.ts';
import type { MemoryRelease } from '../../../src/core/idle-memory.ts';

const MODULE = fileURLToPath(new URL('../../../src/core/idle-memory.ts', import.meta.url));
const QUIET = { quietShare: 0.02, growthBytes: 4e6 };

/** Runs `body` in a fresh Node with large semi-spaces (as the agent's 4 MiB, only larger) and returns what it prints as JSON. */
function inChild(body: string): Record<string, number> {
  const script = `import v8 from 'node:v8'; import { releaseMemory, releaseMemoryWhenIdle } from ${JSON.stringify(MODULE)};
const newSpace = () => v8.getHeapSpaceStatistics().find((s) => s.space_name === 'new_space').space_size;
let keep = [];
for (let i = 0; i < 2e6; i++) { keep.push({ a: i, b: 'x' + i }); if (keep.length > 50000) keep = []; }
keep = null;
${body}`;
  return JSON.parse(execFileSync(process.execPath, ['--max-semi-space-size=16', '--input-type=module', '-e', script], { encoding: 'utf8' })) as Record<string, number>;
}

void describe('giving memory back when idle', () => {
  void it('releases only after a quiet spell, and again only once RSS has grown', () => {
    assert.equal(shouldRelease(0.005, 90e6, undefined, QUIET), true, 'first quiet check');
    assert.equal(shouldRelease(0.3, 90e6, undefined, QUIET), false, 'busy: never');
    assert.equal(shouldRelease(0.005, 80e6 + 3.9e6, 80e6, QUIET), false, 'grew too little');
    assert.equal(shouldRelease(0.005, 84e6, 80e6, QUIET), true, 'grew 4 MB');
    assert.equal(shouldRelease(0.021, 120e6, 80e6, QUIET), false, 'grew, but not quiet');
  });

  void it("returns the young generation's grown pages and RSS (a regular full GC keeps them)", () => {
    const r = inChild(`const before = newSpace(); const f = releaseMemory();
console.log(JSON.stringify({ before, after: newSpace(), rssBefore: f.rssBefore, rssAfter: f.rssAfter, pauseMs: f.pauseMs }));`);
    assert.ok(r.before! >= 16e6, `the young generation grew (${r.before})`);
    assert.ok(r.after! <= r.before! / 4, `young generation ${r.before} → ${r.after}`);
    assert.ok(r.rssAfter! < r.rssBefore! - 10e6, `RSS ${r.rssBefore} → ${r.rssAfter}`);
    assert.ok(r.pauseMs! >= 0);
  });

  void it('the checks release in a quiet process, once, and not while the loop is busy', () => {
    const r = inChild(`let n = 0; let trims = 0; const stop = releaseMemoryWhenIdle({ checkMs: 100, released: () => n++, trim: () => { trims++; return false; } });
const spinUntil = Date.now() + 600;
await new Promise((resolve) => { const spin = () => { const t = Date.now(); while (Date.now() - t < 20); if (Date.now() < spinUntil) setImmediate(spin); else resolve(); }; spin(); });
const whileBusy = n; const trimsWhileBusy = trims;
await new Promise((resolve) => setTimeout(resolve, 450));
stop();
console.log(JSON.stringify({ whileBusy, trimsWhileBusy, quiet: n, trims }));`);
    assert.equal(r.whileBusy, 0, 'no release while the loop spun');
    assert.equal(r.trimsWhileBusy, 0, 'no trim either');
    assert.equal(r.quiet, 1, 'one release once quiet; none more while RSS stayed put');
    // every quiet check trims: the one with the release and the ones after it
    assert.ok(r.trims! >= 2 && r.trims! <= 5, `trims in ~450 ms of 100 ms checks: ${r.trims}`);
  });

  void it('stops: no check after the returned function is called', async () => {
    const seen: MemoryRelease[] = [];
    const stop = releaseMemoryWhenIdle({ checkMs: 20, released: (f) => seen.push(f) });
    stop();
    await new Promise((resolve) => setTimeout(resolve, 80));
    assert.deepEqual(seen, []);
  });
});
