/**
 * deploy/prometheus/dockhand-rules.yml with Debian's promtool: the rules load (`promtool check
 * rules`) and their unit tests beside them pass (`promtool test rules`: each alert fires where it
 * should and not for its look-alikes). test/integration/prometheus.test.ts loads the same file
 * into a real Prometheus scraping a running agent.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { test } from 'node:test';
import type { TestContext } from 'node:test';
import { parse } from 'yaml';
import { missing } from '../helpers/requirements.ts';

const DIR = fileURLToPath(new URL('../../deploy/prometheus/', import.meta.url));

function promtool(t: TestContext, args: string[]): { status: number | null; output: string } | undefined {
  const r = spawnSync('promtool', args, { cwd: DIR, encoding: 'utf8' });
  if (r.error) {
    missing(t, `promtool is not installed (apt-get install prometheus): ${r.error.message}`);
    return undefined;
  }
  return { status: r.status, output: `${r.stdout}${r.stderr}` };
}

interface RuleFile { groups: { name: string; rules: { alert?: string; record?: string }[] }[] }

test('promtool check rules: the rules load', (t) => {
  const r = promtool(t, ['check', 'rules', 'dockhand-rules.yml']);
  if (!r) return;
  assert.equal(r.status, 0, r.output);
});

test('promtool test rules: every alert fires where it should and not for its look-alikes; recording rules give their figure', (t) => {
  const r = promtool(t, ['test', 'rules', 'dockhand-rules.test.yml']);
  if (!r) return;
  assert.equal(r.status, 0, r.output);
  // every alert of the rules file has a test case, and every recording rule is used or tested
  const rules = (parse(readFileSync(`${DIR}dockhand-rules.yml`, 'utf8')) as RuleFile).groups.flatMap((g) => g.rules);
  const tests = readFileSync(`${DIR}dockhand-rules.test.yml`, 'utf8');
  for (const alert of rules.flatMap((x) => (x.alert ? [x.alert] : []))) assert.match(tests, new RegExp(`alertname: ${alert}\\n`), `${alert} has no test`);
  for (const record of rules.flatMap((x) => (x.record ? [x.record] : []))) assert.ok(tests.includes(record) || rules.some((x) => x.alert && JSON.stringify(x).includes(record)), `${record} is neither tested nor used by an alert`);
});
