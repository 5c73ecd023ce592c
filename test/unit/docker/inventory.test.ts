import assert from 'node:assert/strict';
import { test } from 'node:test';
import { DockhandError } from '../../../src/core/errors.ts';
import { formatSince } from '../../../src/docker/event-stream.ts';
import { ContainerInventory } from '../../../src/docker/inventory.ts';
import type { ContainerRecord } from '../../../src/docker/types.ts';
import { splitAction } from '../../../src/docker/watcher.ts';

function rec(id: string, name: string, state: ContainerRecord['state'] = 'running'): ContainerRecord {
  return {
    id, name, image: 'x', imageTag: 'latest', imageId: '', labels: {}, state, health: 'none', restartCount: 0, restartPolicy: 'no',
    restartPolicyMaxRetries: 0, exitCode: null, oomKilled: false, createdAt: null, startedAt: null, finishedAt: null, pid: 0,
    hostname: '', networkMode: 'none', ips: {}, ports: [], cgroupPath: '', updatedAt: 0,
  };
}

test('find by id, name, /name and unique prefix; ambiguous prefix is a BAD_REQUEST', () => {
  const inv = new ContainerInventory();
  inv.upsert(rec('abcd1111', 'web'));
  inv.upsert(rec('abcd2222', 'db'));
  assert.equal(inv.find('abcd1111')?.name, 'web');
  assert.equal(inv.find('db')?.id, 'abcd2222');
  assert.equal(inv.find('/web')?.id, 'abcd1111');
  assert.equal(inv.find('abcd2')?.name, 'db');
  assert.equal(inv.find('abc'), undefined, 'prefixes shorter than 4 are not matched');
  assert.equal(inv.find('ffff'), undefined);
  assert.throws(() => inv.find('abcd'), (e) => e instanceof DockhandError && e.code === 'BAD_REQUEST');
});

test('replaceAll reports added, updated and removed', () => {
  const inv = new ContainerInventory();
  inv.upsert(rec('1111', 'a'));
  inv.upsert(rec('2222', 'b'));
  const r = inv.replaceAll([rec('2222', 'b', 'exited'), rec('3333', 'c')]);
  assert.deepEqual(r, { added: ['3333'], removed: ['1111'], updated: ['2222'] });
  assert.deepEqual(inv.list().map((x) => x.name), ['b', 'c']);
  assert.equal(inv.byId('2222')?.state, 'exited');
  assert.deepEqual([...inv.countByState()].sort(), [['exited', 1], ['running', 1]]);
  assert.equal(inv.patch('9999', { state: 'dead' }), false);
});

test('event actions split into verb and detail', () => {
  assert.deepEqual(splitAction('health_status: healthy'), ['health_status', 'healthy']);
  assert.deepEqual(splitAction('exec_start: sh -c true'), ['exec_start', 'sh -c true']);
  assert.deepEqual(splitAction('die'), ['die', '']);
});

test('since is seconds.nanoseconds, exactly', () => {
  assert.equal(formatSince(1763780400123456789n), '1763780400.123456789');
  assert.equal(formatSince(1763780400000000005n), '1763780400.000000005');
});

test('log hostnames resolve to live containers, id prefixes, and recently removed ones', () => {
  const inv = new ContainerInventory();
  const a = { ...rec('a1b2c3d4e5f6'.padEnd(64, '0'), 'web'), hostname: '778283' };
  const b = { ...rec('0123456789ab'.padEnd(64, '1'), 'db'), hostname: '0123456789ab' };
  inv.upsert(a);
  inv.upsert(b);
  const v0 = inv.version;
  assert.equal(inv.findByHostname('778283')?.name, 'web');
  assert.equal(inv.findByHostname('0123456789ab')?.name, 'db');
  assert.equal(inv.findByHostname('a1b2c3d4e5f6')?.name, 'web', 'Docker default hostname = 12-hex id prefix');
  assert.equal(inv.findByHostname('a1b2'), undefined, 'short prefixes are not ids');
  inv.remove(a.id);
  assert.ok(inv.version > v0);
  assert.equal(inv.byId(a.id), undefined);
  assert.equal(inv.findByHostname('778283')?.name, 'web', 'remembered after removal for late lines');
  assert.equal(inv.findByHostname('778283', Date.now() + 11 * 60_000), undefined, 'forgotten after the retention');
});
