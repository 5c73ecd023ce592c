import assert from 'node:assert/strict';
import { mkdtemp, open, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, test } from 'node:test';
import { pino } from 'pino';
import { FINGERPRINT_BYTES, fingerprint, sameContent } from '../../../src/logs/identity.ts';
import { KEEP_CORRUPT_COPIES, LogFileRegistry, REGISTRY_FILE } from '../../../src/logs/registry.ts';

let dir = '';
const logger = pino({ level: 'silent' });
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'dockhand-registry-'));
});
afterEach(() => rm(dir, { recursive: true, force: true }));

const state = (ino: number, offset: number) => ({ dev: 1, ino, fpLen: 3, fp: 'abc', path: `/logs/${ino}.log`, offset, updatedAt: 1 });

test('offsets survive a reload; writes are atomic renames that leave no temp files', async () => {
  const r = new LogFileRegistry({ dir, logger });
  assert.deepEqual(await r.load(), { files: 0, corrupt: false });
  r.put(state(10, 0));
  r.put(state(11, 5));
  r.setOffset(1, 10, 1234);
  await r.flush();
  assert.equal(r.status().writes, 1);
  await r.flush();
  assert.equal(r.status().writes, 1, 'nothing changed: no write');
  assert.deepEqual(await readdir(dir), [REGISTRY_FILE]);
  const doc = JSON.parse(await readFile(join(dir, REGISTRY_FILE), 'utf8')) as { version: number; files: unknown[] };
  assert.equal(doc.version, 1);

  const again = new LogFileRegistry({ dir, logger });
  assert.deepEqual(await again.load(), { files: 2, corrupt: false });
  assert.equal(again.get(1, 10)?.offset, 1234);
  assert.equal(again.get(1, 11)?.offset, 5);
  again.remove(1, 11);
  await again.flush();
  const third = new LogFileRegistry({ dir, logger });
  await third.load();
  assert.equal(third.size, 1);
});

test('a corrupt registry is moved aside and reported, and files start over (duplicates, not loss)', async () => {
  await writeFile(join(dir, REGISTRY_FILE), '{"version":1,"files":[{"path":"/x","dev":1');
  const r = new LogFileRegistry({ dir, logger });
  assert.deepEqual(await r.load(), { files: 0, corrupt: true });
  const names = await readdir(dir);
  assert.ok(names.some((n) => n.startsWith(`${REGISTRY_FILE}.corrupt-`)), names.join(','));
  await writeFile(join(dir, REGISTRY_FILE), JSON.stringify({ version: 99, files: [] }));
  assert.equal((await new LogFileRegistry({ dir, logger }).load()).corrupt, true, 'unknown versions are not guessed at');
});

test('fingerprints tell copytruncate-and-rewrite and inode reuse from growth', async () => {
  const f = join(dir, 'a.log');
  await writeFile(f, 'first line\nsecond line\n');
  const h = await open(f, 'r');
  try {
    const st = await h.stat();
    const fp = await fingerprint(h, Math.min(st.size, FINGERPRINT_BYTES));
    const id = { dev: st.dev, ino: st.ino, ...fp };
    assert.equal(id.fpLen, 23);
    await writeFile(f, 'first line\nsecond line\nthird\n');
    assert.equal(await sameContent(h, (await h.stat()).size, id), true, 'growth keeps the identity');
    await writeFile(f, 'other content entirely!\n');
    assert.equal(await sameContent(h, (await h.stat()).size, id), false, 'same inode, new content');
    await writeFile(f, 'short\n');
    assert.equal(await sameContent(h, (await h.stat()).size, id), false, 'shorter than the fingerprint');
  } finally {
    await h.close();
  }
});

test('a failed write (state_dir unusable for a while) does not stop later writes; it is counted and shown', async () => {
  const stateDir = join(dir, 'state');
  const r = new LogFileRegistry({ dir: stateDir, logger });
  await r.load();
  r.put(state(10, 0));
  assert.equal(await r.flush(), true);
  // A file where the directory was: every write fails (as on a full disk) until it is gone.
  await rm(stateDir, { recursive: true });
  await writeFile(stateDir, 'not a directory');
  r.setOffset(1, 10, 100);
  assert.equal(await r.flush(), false);
  r.setOffset(1, 10, 200);
  assert.equal(await r.flush(), false);
  const failing = r.status();
  assert.equal(failing.ok, false);
  assert.equal(failing.failures, 2);
  assert.match(failing.lastError ?? '', /^E[A-Z]+$/);
  assert.notEqual(failing.failingSince, null);
  await rm(stateDir);
  assert.equal(await r.flush(), true, 'the next flush writes again, without a new change');
  assert.equal(r.status().ok, true);
  const again = new LogFileRegistry({ dir: stateDir, logger });
  await again.load();
  assert.equal(again.get(1, 10)?.offset, 200);
});

test(`only the newest ${KEEP_CORRUPT_COPIES} corrupt registries are kept`, async () => {
  for (let i = 0; i < KEEP_CORRUPT_COPIES + 4; i++) {
    await writeFile(join(dir, REGISTRY_FILE), 'garbage');
    await new LogFileRegistry({ dir, logger }).load();
    await new Promise((resolve) => setTimeout(resolve, 2)); // distinct millisecond names
  }
  const aside = (await readdir(dir)).filter((n) => n.startsWith(`${REGISTRY_FILE}.corrupt-`));
  assert.equal(aside.length, KEEP_CORRUPT_COPIES);
});
