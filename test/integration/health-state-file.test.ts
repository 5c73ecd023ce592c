// The health state checkpoint on a real file system: round trip, atomic replace, bad files.
import assert from 'node:assert/strict';
import { mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { pino } from 'pino';
import { AtomicStateFile } from '../../src/core/state-file.ts';
import { loadHealthState, saveHealthState } from '../../src/health/health-state-file.ts';
import type { PersistedHealthState } from '../../src/health/health-state-file.ts';

let dir = '';
before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'dockhand-health-state-'));
});
after(() => rm(dir, { recursive: true, force: true }));

const ID = 'e'.repeat(64);
const STATE: PersistedHealthState = { version: 1, savedAt: 1_800_000_000_000, containers: { [ID]: { name: 'web', running: true, stoppedOnPurpose: false, crashLooping: true, restarts: [1, 2, 3], attempt: 3 } } };

test('a missing file is a first start, not a problem', async () => {
  assert.deepEqual(await loadHealthState(join(dir, 'none.json')), { state: null });
});

test('save then load gives the same state; no temp file is left behind', async () => {
  const file = join(dir, 'sub', 'health.json');
  const writer = new AtomicStateFile({ path: file, logger: pino({ level: 'silent' }) });
  assert.equal(await saveHealthState(writer, STATE), true);
  assert.equal(await saveHealthState(writer, { ...STATE, savedAt: STATE.savedAt + 1 }), true);
  const loaded = await loadHealthState(file);
  assert.deepEqual(loaded.state, { ...STATE, savedAt: STATE.savedAt + 1 });
  assert.deepEqual(await readdir(join(dir, 'sub')), ['health.json']);
});

test('corrupt, foreign and odd files are reported and ignored, bad entries dropped', async () => {
  const file = join(dir, 'bad.json');
  await writeFile(file, '{"version":1,"savedAt":');
  const corrupt = await loadHealthState(file);
  assert.equal(corrupt.state, null);
  assert.match(corrupt.problem ?? '', /bad\.json/);
  await writeFile(file, JSON.stringify({ version: 2, savedAt: 1, containers: {} }));
  assert.match((await loadHealthState(file)).problem ?? '', /not a version 1/);
  await writeFile(file, JSON.stringify({ version: 1, savedAt: 5, containers: { 'not-an-id': {}, [ID]: { name: 7, running: 'yes', restarts: [1, 'x'], attempt: -3 } } }));
  const odd = await loadHealthState(file);
  assert.deepEqual(odd.state?.containers, { [ID]: { name: '', running: false, stoppedOnPurpose: false, crashLooping: false, restarts: [1], attempt: 0 } });
});
