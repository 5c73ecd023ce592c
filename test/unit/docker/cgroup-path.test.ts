import assert from 'node:assert/strict';
import { test } from 'node:test';
import { derivedCgroupPath, parseProcCgroup } from '../../../src/docker/cgroup-path.ts';

const id = 'a'.repeat(64);

test('cgroup v2 unified entry', () => {
  assert.equal(parseProcCgroup(`0::/system.slice/docker-${id}.scope\n`), `/system.slice/docker-${id}.scope`);
});

test('cgroup v1 prefers the memory controller, then name=systemd', () => {
  const v1 = `12:pids:/docker/${id}\n9:memory:/docker/${id}\n1:name=systemd:/docker/${id}\n0::/\n`;
  assert.equal(parseProcCgroup(v1), `/docker/${id}`);
  assert.equal(parseProcCgroup(`1:name=systemd:/system.slice/docker-${id}.scope\n`), `/system.slice/docker-${id}.scope`);
  assert.equal(parseProcCgroup('garbage\n'), undefined);
  assert.equal(parseProcCgroup('0::/../../system.slice/x.scope\n'), undefined, 'paths of another cgroup namespace are not ours');
});

test('derived paths follow the cgroup driver', () => {
  assert.equal(derivedCgroupPath(id, 'cgroupfs', ''), `/docker/${id}`);
  assert.equal(derivedCgroupPath(id, 'cgroupfs', 'custom'), `/custom/${id}`);
  assert.equal(derivedCgroupPath(id, 'systemd', ''), `/system.slice/docker-${id}.scope`);
  assert.equal(derivedCgroupPath(id, 'systemd', 'app-web.slice'), `/app.slice/app-web.slice/docker-${id}.scope`);
});
