// How a read step reads: a few unread bytes synchronously (page cache), more through the thread
// pool into the whole chunk buffer; the first slow synchronous read turns them off for good.
import assert from 'node:assert/strict';
import { mkdtemp, open, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { pino } from 'pino';
import { ChunkReader, SLOW_SYNC_READ_MS, SYNC_READ_BYTES, SyncReads } from '../../../src/logs/chunk-reader.ts';

const CHUNK = 1024 * 1024;

async function withFile(bytes: Buffer, body: (path: string) => Promise<void>): Promise<void> {
  const dir = await mkdtemp(join(tmpdir(), 'dockhand-chunk-'));
  try {
    await writeFile(join(dir, 'f.log'), bytes);
    await body(join(dir, 'f.log'));
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

test('a few unread bytes fill a SYNC_READ_BYTES view; many fill the whole chunk buffer; both read the right bytes', async () => {
  const bytes = Buffer.from(Array.from({ length: 300_000 }, (_, i) => i % 251));
  await withFile(bytes, async (path) => {
    const handle = await open(path, 'r');
    try {
      const reader = new ChunkReader(CHUNK, new SyncReads(pino({ level: 'silent' })));
      const small = await reader.read(handle, 1000, 2000, path);
      assert.equal(small.chunk.length, SYNC_READ_BYTES);
      assert.equal(small.bytesRead, SYNC_READ_BYTES, 'reads as much as the view holds, not only what was announced');
      assert.ok(small.chunk.subarray(0, small.bytesRead).equals(bytes.subarray(1000, 1000 + SYNC_READ_BYTES)));
      const large = await reader.read(handle, 0, bytes.length, path);
      assert.equal(large.chunk.length, CHUNK);
      assert.equal(large.bytesRead, bytes.length);
      assert.ok(large.chunk.subarray(0, large.bytesRead).equals(bytes));
      const buf = Buffer.alloc(10);
      assert.equal(await reader.readAt(handle, buf, 251), 10);
      assert.ok(buf.equals(bytes.subarray(251, 261)));
    } finally {
      await handle.close();
    }
  });
});

test('one synchronous read slower than SLOW_SYNC_READ_MS ends synchronous reads for good, with one warning', async () => {
  const warnings: string[] = [];
  const logger = pino({ level: 'warn' }, { write: (line: string) => void warnings.push(line) });
  const sync = new SyncReads(logger);
  sync.tookMs(SLOW_SYNC_READ_MS / 2, '/x.log');
  assert.equal(sync.enabled, true, 'a fast read changes nothing');
  sync.tookMs(SLOW_SYNC_READ_MS + 1, '/x.log');
  sync.tookMs(SLOW_SYNC_READ_MS + 50, '/y.log');
  assert.equal(sync.enabled, false);
  assert.equal(warnings.length, 1);
  assert.match(warnings[0] ?? '', /thread pool/);
  await withFile(Buffer.from('abc\n'), async (path) => {
    const handle = await open(path, 'r');
    try {
      const reader = new ChunkReader(CHUNK, sync);
      assert.equal(reader.synchronous, false);
      const r = await reader.read(handle, 0, 4, path);
      assert.equal(r.chunk.length, CHUNK, 'through the thread pool into the whole buffer');
      assert.equal(r.chunk.toString('utf8', 0, r.bytesRead), 'abc\n');
    } finally {
      await handle.close();
    }
  });
});
