// The exception summary's bounds (src/exceptions/summary.ts): apps past max_apps fold into
// "other", a full table replaces its rarest fingerprint (space-saving: the newcomer's count is an
// upper bound, countError says by how much), a frequent fingerprint survives any number of rare
// ones, windowed counts, samples cut at sample_bytes, and the /v1/exceptions `since` parameter.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { sinceParam } from '../../../src/exceptions/routes.ts';
import { BUCKET_MS, ExceptionSummary, OTHER_APP, restoreSummary, summaryDocument } from '../../../src/exceptions/summary.ts';
import type { ParsedTrace } from '../../../src/exceptions/trace.ts';

const T0 = Date.parse('2026-11-22T10:00:00Z');

function trace(fingerprint: string, stackTrace = 'java.lang.X: m\n\tat a.B.c(B.java:1)'): ParsedTrace {
  return { language: 'java', type: 'java.lang.X', message: `m ${fingerprint}`, stackTrace, rootType: 'java.lang.Y', rootMessage: 'r', fingerprint };
}

test('exact counts, first/last seen, latest message, sources while nothing is evicted', () => {
  const s = new ExceptionSummary({ maxApps: 5, topPerApp: 5, sampleBytes: 4096 });
  assert.equal(s.record('shop', '/a.log', trace('f1'), T0).isNew, true);
  assert.equal(s.record('shop', '/b.log', trace('f1'), T0 + 1000).isNew, false);
  s.record('shop', '/a.log', trace('f2'), T0 + 2000);
  const [app] = s.view({ now: T0 + 3000 });
  assert.equal(app?.app, 'shop');
  assert.equal(app.total, 3);
  assert.equal(app.newFingerprints, 2);
  assert.equal(app.lastNewAt, new Date(T0 + 2000).toISOString());
  assert.deepEqual(app.fingerprints.map((f) => [f.fingerprint, f.count, f.countError, f.countInWindow]), [['f1', 2, 0, 2], ['f2', 1, 0, 1]]);
  const f1 = app.fingerprints[0];
  assert.equal(f1?.firstSeen, new Date(T0).toISOString());
  assert.equal(f1.lastSeen, new Date(T0 + 1000).toISOString());
  assert.deepEqual(f1.sources, ['/a.log', '/b.log']);
  assert.deepEqual(f1.rootCause, { type: 'java.lang.Y', message: 'r' });
});

test('applications past maxApps are counted as "other"', () => {
  const s = new ExceptionSummary({ maxApps: 2, topPerApp: 5, sampleBytes: 4096 });
  assert.equal(s.record('a', 'x', trace('f'), T0).app, 'a');
  assert.equal(s.record('b', 'x', trace('f'), T0).app, 'b');
  assert.equal(s.record('c', 'x', trace('f'), T0).app, OTHER_APP);
  assert.equal(s.record('d', 'x', trace('f'), T0).app, OTHER_APP);
  assert.equal(s.record('a', 'x', trace('f'), T0).app, 'a', 'a known app keeps its name');
  assert.deepEqual(s.view().map((v) => [v.app, v.total]), [['a', 2], ['b', 1], ['other', 2]]);
  assert.deepEqual(s.view({ app: 'c' }), [], 'c has no table of its own');
});

test('space-saving: a full table replaces its rarest entry; the newcomer inherits its count as the error; a frequent one always stays', () => {
  const s = new ExceptionSummary({ maxApps: 1, topPerApp: 3, sampleBytes: 4096 });
  // 100 of 250 > 250 / 3: space-saving guarantees that it is never evicted, however it interleaves.
  for (let i = 0; i < 250; i++) s.record('a', 'x', trace(i % 5 < 2 ? 'hot' : `rare${i}`), T0 + i);
  const [app] = s.view({ now: T0 + 1000 });
  assert.equal(app?.fingerprints.length, 3, 'bounded');
  assert.equal(app.total, 250);
  assert.equal(app.evictions, 148);
  const hot = app.fingerprints.find((f) => f.fingerprint === 'hot');
  assert.equal(hot?.count, 100);
  assert.equal(hot.countError, 0);
  for (const f of app.fingerprints.filter((x) => x.fingerprint !== 'hot')) {
    assert.ok(f.count - f.countError <= 1 && f.count >= 1, `${f.fingerprint}: true count 1 within [count − error, count] = [${f.count - f.countError}, ${f.count}]`);
  }
  const sum = app.fingerprints.reduce((n, f) => n + f.count, 0);
  assert.equal(sum, 250, 'space-saving keeps the sum of counts equal to the total');
});

test('counts in a window: ten-minute slots over 24 h, since filters by last seen', () => {
  const s = new ExceptionSummary({ maxApps: 1, topPerApp: 5, sampleBytes: 4096 });
  s.record('a', 'x', trace('old'), T0);
  s.record('a', 'x', trace('both'), T0);
  s.record('a', 'x', trace('both'), T0 + 3 * BUCKET_MS);
  s.record('a', 'x', trace('both'), T0 + 3 * BUCKET_MS + 1);
  const now = T0 + 3 * BUCKET_MS + 10;
  const recent = s.view({ since: T0 + 2 * BUCKET_MS, now })[0]?.fingerprints ?? [];
  assert.deepEqual(recent.map((f) => [f.fingerprint, f.count, f.countInWindow]), [['both', 3, 2]]);
  const all = s.view({ now })[0]?.fingerprints ?? [];
  assert.deepEqual(all.map((f) => [f.fingerprint, f.countInWindow]), [['both', 3], ['old', 1]]);
  const later = s.view({ since: T0, now: T0 + 2 * 86_400_000 })[0]?.fingerprints ?? [];
  assert.deepEqual(later.map((f) => [f.fingerprint, f.countInWindow]), [['both', 3], ['old', 1]], 'a since older than the 24 h of slots gives the whole count');
  assert.deepEqual(s.view({ since: T0 + 2 * 86_400_000 - 3_600_000, now: T0 + 2 * 86_400_000 })[0]?.fingerprints, [], 'nothing seen in the last hour');
  assert.equal(s.view({ limit: 1, now })[0]?.fingerprints.length, 1);
});

test('the sample trace is cut at sampleBytes on a character boundary', () => {
  const s = new ExceptionSummary({ maxApps: 1, topPerApp: 5, sampleBytes: 256 });
  s.record('a', 'x', trace('f', `java.lang.X: ${'é'.repeat(400)}`), T0);
  const sample = s.view()[0]?.fingerprints[0]?.sample ?? '';
  assert.ok(Buffer.byteLength(sample) <= 256 && Buffer.byteLength(sample) >= 254, String(Buffer.byteLength(sample)));
  assert.ok(!sample.includes('\uFFFD'));
});

test('since: unix milliseconds or a duration back from now; anything else is a 400', () => {
  const q = (s: string): URLSearchParams => new URLSearchParams(s);
  assert.equal(sinceParam(q(''), T0), 0);
  assert.equal(sinceParam(q('since=1234'), T0), 1234);
  assert.equal(sinceParam(q('since=15m'), T0), T0 - 15 * 60_000);
  assert.equal(sinceParam(q('since=1d'), T0), T0 - 86_400_000);
  for (const bad of ['since=yesterday', 'since=-5', 'since=1&since=2', 'since=']) {
    assert.throws(() => sinceParam(q(bad), T0), /since/, bad);
  }
});

test('a saved summary restores as it was (counts, windows, new-fingerprint state), within smaller bounds, and refuses garbage', () => {
  const s = new ExceptionSummary({ maxApps: 3, topPerApp: 4, sampleBytes: 4096 });
  for (let i = 0; i < 10; i++) s.record(i % 2 ? 'a' : 'b', `/f${i}`, trace(`f${i % 3}`), T0 + i * BUCKET_MS);
  const doc = JSON.parse(JSON.stringify(summaryDocument(s))) as unknown;
  const now = T0 + 12 * BUCKET_MS;
  const back = new ExceptionSummary({ maxApps: 3, topPerApp: 4, sampleBytes: 4096 });
  assert.equal(restoreSummary(back, doc), 6);
  assert.deepEqual(back.view({ since: T0 + 5 * BUCKET_MS, now }), s.view({ since: T0 + 5 * BUCKET_MS, now }));
  assert.equal(back.record('a', '/f', trace('f1'), now).isNew, false, 'a fingerprint seen before the restart is not new');
  const small = new ExceptionSummary({ maxApps: 1, topPerApp: 1, sampleBytes: 4096 });
  restoreSummary(small, doc);
  assert.ok(small.view().every((a) => a.fingerprints.length === 1));
  for (const bad of [null, {}, { version: 2, apps: [] }, { version: 1, apps: 'x' }, 'text']) {
    assert.throws(() => restoreSummary(new ExceptionSummary({ maxApps: 3, topPerApp: 4, sampleBytes: 4096 }), bad), /version 1/);
  }
  const partly = new ExceptionSummary({ maxApps: 3, topPerApp: 4, sampleBytes: 4096 });
  assert.equal(restoreSummary(partly, { version: 1, apps: [{ app: 'a', total: 1, newFingerprints: 1, lastNewAt: T0, evictions: 0, entries: [{ fingerprint: 'x', count: -1 }] }, { app: 5 }] }), 0, 'malformed entries are skipped');
});

test('a trace from a container\'s output is attributed to the container (id, name, image), files stay in sources; bounded, renames followed', () => {
  const s = new ExceptionSummary({ maxApps: 5, topPerApp: 5, sampleBytes: 4096 });
  // a ContainerRecord is passed as it is: only id, name and image are kept, as copies
  const record = { id: 'a'.repeat(64), name: 'shop-1', image: 'repo/shop', imageTag: '3', labels: { x: 'y' } };
  s.record('shop-1', record, trace('f1'), T0);
  s.record('shop-1', '/logs/shop.log', trace('f1'), T0 + 1);
  s.record('shop-1', record, trace('f1'), T0 + 2);
  record.name = 'shop-renamed';
  s.record('shop-1', record, trace('f1'), T0 + 3);
  const f1 = s.view({ now: T0 + 10 })[0]?.fingerprints[0];
  assert.equal(f1?.count, 4);
  assert.deepEqual(f1.sources, ['/logs/shop.log'], 'sources lists files only, as before');
  assert.deepEqual(f1.containers, [{ id: 'a'.repeat(64), name: 'shop-renamed', image: 'repo/shop' }], 'one entry per container id, under its current name');
  for (let i = 0; i < 7; i++) s.record('shop-1', { id: `c${i}`, name: `n${i}`, image: 'img' }, trace('f1'), T0 + 20 + i);
  assert.deepEqual(s.view({ now: T0 + 100 })[0]?.fingerprints[0]?.containers.map((c) => c.id), ['c2', 'c3', 'c4', 'c5', 'c6'], 'the latest 5 containers');
  assert.deepEqual(s.view({ now: T0 + 100 })[0]?.fingerprints[0]?.sources, ['/logs/shop.log']);
});

test('containers survive a restart; a summary saved before containers were counted restores with none', () => {
  const s = new ExceptionSummary({ maxApps: 5, topPerApp: 5, sampleBytes: 4096 });
  s.record('web', { id: 'c1', name: 'web', image: 'nginx' }, trace('f1'), T0);
  const doc = JSON.parse(JSON.stringify(summaryDocument(s))) as { apps: { entries: Record<string, unknown>[] }[] };
  const back = new ExceptionSummary({ maxApps: 5, topPerApp: 5, sampleBytes: 4096 });
  assert.equal(restoreSummary(back, doc), 1);
  assert.deepEqual(back.view({ now: T0 })[0]?.fingerprints[0]?.containers, [{ id: 'c1', name: 'web', image: 'nginx' }]);
  const entry = doc.apps[0]?.entries[0] ?? {};
  delete entry['containers'];
  const old = new ExceptionSummary({ maxApps: 5, topPerApp: 5, sampleBytes: 4096 });
  assert.equal(restoreSummary(old, doc), 1);
  assert.deepEqual(old.view({ now: T0 })[0]?.fingerprints[0]?.containers, []);
  entry['containers'] = [{ id: 'c1', name: 'web', image: 'nginx' }, { id: 5 }, 'x'];
  const mixed = new ExceptionSummary({ maxApps: 5, topPerApp: 5, sampleBytes: 4096 });
  restoreSummary(mixed, doc);
  assert.deepEqual(mixed.view({ now: T0 })[0]?.fingerprints[0]?.containers, [{ id: 'c1', name: 'web', image: 'nginx' }], 'malformed containers are skipped');
});
