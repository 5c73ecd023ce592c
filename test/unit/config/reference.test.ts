import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { renderConfigReference } from '../../../src/config/reference.ts';
import { configSchema } from '../../../src/configuration.ts';

test('docs/configuration.md reference matches the schema (run `npm run config-reference`)', () => {
  const doc = readFileSync(new URL('../../../docs/configuration.md', import.meta.url), 'utf8');
  assert.ok(doc.includes(renderConfigReference(configSchema)), 'docs/configuration.md reference is out of date: run npm run config-reference');
});

test("the keys operators' Ansible roles are written against are all in the schema", () => {
  const reference = renderConfigReference(configSchema);
  for (const key of [
    'log_level', 'state_dir', 'docker.host', 'docker.tls.ca', 'docker.tls.cert', 'docker.tls.key', 'docker.allow_insecure',
    'api.listen', 'api.token_file', 'api.tls.cert', 'api.tls.key', 'api.tls.client_ca', 'api.metrics_auth',
    'logs.roots', 'logs.start_at', 'logs.close_inactive', 'logs.max_line_bytes', 'logs.multiline.pattern', 'logs.multiline.negate',
    'logs.multiline.match', 'logs.multiline.max_lines', 'logs.multiline.timeout', 'logs.stall_warning',
    'outputs[].type', 'outputs[].hosts', 'outputs[].tls.ca', 'outputs[].tls.cert', 'outputs[].tls.key', 'outputs[].tls.server_name',
    'outputs[].compression_level', 'metrics.interval', 'metrics.container_labels',
    'health.defaults.interval', 'health.defaults.timeout', 'health.defaults.grace', 'health.defaults.unhealthy_threshold',
    'health.restart.policy', 'health.restart.max_restarts', 'health.restart.window', 'health.restart.backoff_base', 'health.restart.backoff_max',
  ]) {
    assert.ok(reference.includes(`| \`${key}\` |`), `missing ${key}`);
  }
  assert.ok(configSchema.fields);
});
