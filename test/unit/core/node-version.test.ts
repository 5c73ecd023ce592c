import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { REQUIRED_NODE, unsupportedNode } from '../../../src/core/node-version.ts';

test('older versions are refused in one line naming both versions; equal and newer pass', () => {
  for (const old of ['20.20.2', 'v18.19.0', '22.18.9', '22.9.0', '0.10.48']) {
    const problem = unsupportedNode(old, '22.19.0');
    assert.ok(problem, old);
    assert.ok(!problem.includes('\n'), 'one line');
    assert.match(problem, new RegExp(`Node\\.js v${old.replace(/^v/, '').replaceAll('.', '\\.')} is too old`));
    assert.match(problem, /needs Node\.js >= 22\.19\.0/);
  }
  for (const ok of ['22.19.0', '22.20.0', '23.0.0', 'v24.21.0', '100.0.0']) assert.equal(unsupportedNode(ok, '22.19.0'), undefined, ok);
});

test('a version that does not parse is let through', () => {
  assert.equal(unsupportedNode('nightly', '22.19.0'), undefined);
});

test('the required version is package.json engines.node, and the Node the scripts run on meets it', () => {
  const pkg = JSON.parse(readFileSync(new URL('../../../package.json', import.meta.url), 'utf8')) as { engines: { node: string } };
  assert.equal(pkg.engines.node, `>=${REQUIRED_NODE}`);
  assert.equal(unsupportedNode(process.versions.node), undefined);
});
