import assert from 'node:assert/strict';
import { it } from 'node:test';
import fileTimes from '../../scripts/file-times-reporter.ts';

async function* events(): AsyncGenerator<{ type: string; data?: { file?: string } }> {
  yield { type: 'test:dequeue', data: { file: '/r/a.test.ts' } };
  await new Promise((r) => setTimeout(r, 600));
  yield { type: 'test:dequeue', data: { file: '/r/b.test.ts' } };
  yield { type: 'test:complete', data: { file: '/r/a.test.ts' } };
  await new Promise((r) => setTimeout(r, 300));
  yield { type: 'test:complete', data: { file: '/r/b.test.ts' } };
}

void it('gives each file its time and when the runner took it up, slowest first', async () => {
  const lines: string[] = [];
  for await (const line of fileTimes(events())) lines.push(line);
  assert.match(lines[0] ?? '', /^\d+ s over 2 files, in \d+ s, slowest first\n$/);
  // seconds, start offset, file: a took ~0.6 s from the start, b ~0.3 s from ~0.6 s on
  const rows = lines.slice(1).map((l) => /^ +(\d+\.\d) s {2}from +(\d+) s {2}(\S+)\n$/.exec(l)).map((m) => m && { s: Number(m[1]), from: Number(m[2]), file: m[3] });
  assert.deepEqual(rows.map((r) => r?.file), ['/r/a.test.ts', '/r/b.test.ts'], lines.join(''));
  assert.ok(rows[0]!.s >= 0.6 && rows[1]!.s >= 0.3, lines.join(''));
  assert.equal(rows[0]!.from, 0);
  assert.ok(rows[1]!.from >= 1, `b was taken up 0.6 s into the run: ${lines[2]}`);
  assert.equal(lines.length, 3);
});
