import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import { configSchema } from '../../src/configuration.ts';
import type { Config } from '../../src/configuration.ts';
import { decodeContext } from '../../src/config/schema-dsl.ts';
import { LIVE_KEYS, diffKeys, planReload } from '../../src/reload-plan.ts';
import { reloadConfig } from '../../src/reload.ts';
import type { ReloadTarget } from '../../src/reload.ts';

function config(raw: Record<string, unknown> = {}): Config {
  const ctx = decodeContext();
  const c = configSchema.decode(raw, '', ctx);
  assert.deepEqual(ctx.problems, []);
  return c;
}

void describe('what a reload applies', () => {
  void it('splits changed keys into live and restart', () => {
    const a = config();
    const b = config({ log_level: 'debug', api: { listen: '127.0.0.1:9999' }, logs: { include: ['*.txt'], multiline: { max_lines: 10 } }, health: { defaults: { interval: '5s' } }, outputs: [{ hosts: ['127.0.0.1:5045'] }] });
    const plan = planReload(diffKeys(a, b), false);
    assert.deepEqual(plan.live.sort(), ['health.defaults.interval', 'log_level', 'logs.include', 'outputs']);
    assert.deepEqual(plan.restart.sort(), ['api.listen.port', 'logs.multiline.max_lines']);
  });

  void it('a token turned on or off needs a restart; a new path for it does not', () => {
    assert.deepEqual(planReload(['api.token_file'], true), { live: [], restart: ['api.token_file'] });
    assert.deepEqual(planReload(['api.token_file'], false), { live: ['api.token_file'], restart: [] });
  });

  void it('docs/configuration.md lists exactly the keys a reload applies', () => {
    const doc = readFileSync(new URL('../../docs/configuration.md', import.meta.url), 'utf8');
    const section = doc.slice(doc.indexOf('<!-- live-keys:begin -->'), doc.indexOf('<!-- live-keys:end -->'));
    const documented = [...section.matchAll(/`([a-z_.]+)`/g)].map((m) => m[1] as string).filter((k) => !k.includes('lastReload'));
    const expected = LIVE_KEYS.filter((k) => k !== 'health');
    for (const key of expected) assert.ok(documented.includes(key), `${key} is applied live but not documented`);
    for (const key of documented) assert.ok(LIVE_KEYS.includes(key), `${key} is documented as live but is not`);
    assert.match(section, /everything under `health`/);
  });
});

void describe('carrying out a reload', () => {
  const targets = (calls: string[], failing = ''): ReloadTarget[] => [
    { name: 'log shipping', sections: ['outputs', 'logs'], apply: () => { calls.push('log shipping'); if (failing === 'log shipping') throw new Error('bad CA'); } },
    { name: 'health', sections: ['health'], apply: () => void calls.push('health') },
    { name: 'api', sections: ['api'], always: true, apply: () => void calls.push('api') },
  ];

  void it('applies the targets whose sections changed (and the always ones); restart keys keep running values', async () => {
    const start = config();
    const next = config({ health: { restart: { policy: 'always' } }, docker: { timeout: '20s' } });
    const calls: string[] = [];
    const { running, report } = await reloadConfig({ start, running: start, next, source: 'f.yaml', targets: targets(calls) });
    assert.deepEqual(calls, ['health', 'api']);
    assert.deepEqual(report.applied, ['health.restart.policy']);
    assert.deepEqual(report.pendingRestart, ['docker.timeout']);
    assert.deepEqual(report.failed, []);
    assert.equal(running.health.restart.policy, 'always');
    assert.equal(running.docker.timeout, start.docker.timeout, 'needs a restart: the running value stays');
    // reverting the restart-only key clears what is pending
    const back = await reloadConfig({ start, running, next: config({ health: { restart: { policy: 'always' } } }), source: 'f.yaml', targets: targets([]) });
    assert.deepEqual(back.report.pendingRestart, []);
  });

  void it('a target that fails keeps its sections as they were and is reported', async () => {
    const start = config();
    const next = config({ outputs: [{ hosts: ['127.0.0.1:6000'] }], health: { defaults: { interval: '3s' } } });
    const { running, report } = await reloadConfig({ start, running: start, next, source: 'f.yaml', targets: targets([], 'log shipping') });
    assert.deepEqual(report.failed, [{ target: 'log shipping', error: 'bad CA' }]);
    assert.deepEqual(report.applied, ['health.defaults.interval']);
    assert.deepEqual(running.outputs, start.outputs);
    assert.equal(running.health.defaults.interval, 3000);
  });
});
