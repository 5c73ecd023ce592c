import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { loadConfig } from '../../../src/configuration.ts';
import { ConfigError } from '../../../src/core/errors.ts';

const dir = mkdtempSync(join(tmpdir(), 'dockhand-config-'));
after(() => rmSync(dir, { recursive: true, force: true }));
let n = 0;
function file(yaml: string): string {
  const f = join(dir, `c${n++}.yaml`);
  writeFileSync(f, yaml);
  return f;
}

function problems(yaml: string, env: NodeJS.ProcessEnv = {}): string[] {
  try {
    loadConfig({ file: file(yaml), env });
  } catch (err) {
    assert.ok(err instanceof ConfigError, `expected ConfigError, got ${String(err)}`);
    return err.problems.map((p) => `${p.path}: ${p.reason}`);
  }
  assert.fail('expected the config to be rejected');
}

test('no file and no env gives the documented defaults', () => {
  const { config, source } = loadConfig({ env: {} });
  assert.equal(source, 'embedded defaults');
  assert.equal(config.log_level, 'info');
  assert.equal(config.state_dir, '/var/lib/dockhand');
  assert.equal(config.docker.host, 'unix:///var/run/docker.sock');
  assert.deepEqual(config.api.listen, { host: '127.0.0.1', port: 9731 });
  assert.equal(config.api.token_file, null);
  assert.equal(config.api.metrics_auth, true);
  assert.deepEqual(config.logs.roots, ['/data/application/logs', '/data/application/logs/tracing']);
  assert.equal(config.logs.close_inactive, 300_000);
  assert.equal(config.logs.max_line_bytes, 1024 * 1024);
  assert.equal(config.logs.multiline.max_lines, 500);
  assert.equal(config.outputs.length, 1);
  assert.equal(config.outputs[0]?.type, 'beats');
  assert.deepEqual(config.outputs[0]?.hosts, ['127.0.0.1:5044']);
  assert.equal(config.metrics.interval, 10_000);
  assert.equal(config.health.restart.policy, 'no');
  assert.equal(config.health.restart.backoff_max, 300_000);
});

test('an empty file means all defaults', () => {
  assert.equal(loadConfig({ file: file(''), env: {} }).config.api.listen.port, 9731);
});

test('an example file setting every section is accepted as written', () => {
  const token = file('secret\n');
  const { config } = loadConfig({
    env: {},
    file: file(`
log_level: debug
state_dir: /var/lib/dockhand
docker:
  host: unix:///var/run/docker.sock
  allow_insecure: false
api:
  listen: 127.0.0.1:9731
  token_file: ${token}
  metrics_auth: false
logs:
  roots: [/data/application/logs, /data/application/logs/tracing]
  start_at: beginning
  close_inactive: 5m
  max_line_bytes: 1MiB
  multiline: { pattern: '^\\s+at ', negate: false, match: after, max_lines: 500, timeout: 5s }
  stall_warning: 60s
outputs:
  - type: beats
    hosts: [127.0.0.1:5044]
    compression_level: 3
metrics:
  interval: 10s
  container_labels: [com.example.team]
health:
  defaults: { interval: 10s, timeout: 2s, grace: 60s, unhealthy_threshold: 3 }
  restart: { policy: no, max_restarts: 5, window: 10m, backoff_base: 1s, backoff_max: 5m }
`),
  });
  assert.equal(config.log_level, 'debug');
  assert.equal(config.api.metrics_auth, false);
  assert.equal(config.outputs[0]?.compression_level, 3);
  assert.equal(config.logs.multiline.timeout, 5000);
  assert.equal(config.health.restart.policy, 'no');
  assert.deepEqual(config.metrics.container_labels, ['com.example.team']);
});

test('every problem is reported with its key path, not just the first', () => {
  const found = problems(`
log_level: loud
docker:
  host: ftp://x
  timeout: 10
api:
  listen: 127.0.0.1:99999
  metrics_auth: "yes"
  colour: blue
logs:
  close_inactive: 5 minutes
  max_line_bytes: 1XB
  roots: relative/dir
  multiline: { pattern: "([", max_lines: 0 }
outputs:
  - type: kafka
    hosts: []
    compression_level: 12
unknown_top: 1
`);
  const expect = [
    /^log_level: must be one of/,
    /^docker\.host: "ftp:\/\/x" is not unix/,
    /^docker\.timeout: expected a duration/,
    /^api\.listen: port 99999 is out of range/,
    /^api\.metrics_auth: expected true or false/,
    /^api\.colour: unknown key/,
    /^logs\.close_inactive: "5 minutes" is not a duration/,
    /^logs\.max_line_bytes: "1XB" is not a size/,
    /^logs\.roots: expected a list/,
    /^logs\.multiline\.pattern: not a valid regular expression/,
    /^logs\.multiline\.max_lines: must be between 1 and 100000/,
    /^outputs\[0\]\.type: must be one of beats, tcp, http/,
    /^outputs\[0\]\.hosts: needs at least 1/,
    /^outputs\[0\]\.compression_level: must be between 0 and 9/,
    /^unknown_top: unknown key/,
  ];
  for (const re of expect) assert.ok(found.some((p) => re.test(p)), `missing ${re} in:\n${found.join('\n')}`);
  assert.equal(found.length, expect.length, found.join('\n'));
});

test('a misspelt key suggests the right one', () => {
  assert.match(problems('api:\n  lisen: 127.0.0.1:1\n')[0] ?? '', /api\.lisen: unknown key \(did you mean "listen"\?\)/);
});

test('YAML syntax errors and duplicate keys name the line', () => {
  assert.match(problems('api:\n  listen: [\n')[0] ?? '', /YAML line \d+/);
  assert.match(problems('log_level: info\nlog_level: debug\n')[0] ?? '', /YAML line 2/);
  assert.match(problems('- just\n- a list\n')[0] ?? '', /expected a mapping/);
});

test('unreadable file is a problem, not a crash', () => {
  const err = (() => {
    try {
      loadConfig({ file: join(dir, 'missing.yaml'), env: {} });
    } catch (e) {
      return e;
    }
  })();
  assert.ok(err instanceof ConfigError);
  assert.match(err.problems[0]?.reason ?? '', /cannot read .*missing\.yaml: ENOENT/);
});

test('listening off loopback requires a token or mutual TLS', () => {
  assert.match(problems('api:\n  listen: 0.0.0.0:9731\n')[0] ?? '', /^api\.listen: listening on 0\.0\.0\.0 \(not loopback\) requires api\.token_file/);
  const token = file('t0ken');
  assert.equal(loadConfig({ file: file(`api:\n  listen: 0.0.0.0:9731\n  token_file: ${token}\n`), env: {} }).config.api.listen.host, '0.0.0.0');
  assert.equal(loadConfig({ file: file('api:\n  listen: "[::1]:9731"\n'), env: {} }).config.api.listen.host, '::1');
});

test('plain TCP to Docker is refused unless allowed; TLS files must exist', () => {
  assert.match(problems('docker:\n  host: tcp://10.0.0.1:2375\n')[0] ?? '', /^docker\.host: plain TCP to the Docker API is refused/);
  assert.equal(loadConfig({ file: file('docker:\n  host: tcp://10.0.0.1:2375\n  allow_insecure: true\n'), env: {} }).config.docker.allow_insecure, true);
  const found = problems(`docker:\n  host: tcp://10.0.0.1:2376\n  tls: { ca: ${dir}/ca.pem, cert: ${dir}/cert.pem }\n`);
  assert.ok(found.includes('docker.tls.key: is required here'), found.join('\n'));
  const missing = problems(`docker:\n  host: tcp://10.0.0.1:2376\n  tls: { ca: ${dir}/ca.pem, cert: ${dir}/cert.pem, key: ${dir}/key.pem }\n`);
  assert.deepEqual(missing.map((p) => p.split(':')[0]), ['docker.tls.ca', 'docker.tls.cert', 'docker.tls.key']);
  assert.match(missing[0] ?? '', /cannot read .*ca\.pem: ENOENT/);
});

test('token file that does not exist is reported at load time', () => {
  assert.match(problems(`api:\n  token_file: ${dir}/nope\n`)[0] ?? '', /^api\.token_file: cannot read .*nope: ENOENT/);
  assert.match(problems('api:\n  token_file: relative/token\n')[0] ?? '', /^api\.token_file: "relative\/token" is not an absolute path/);
});

test('environment overrides use __ between levels and are typed by the schema', () => {
  const { config } = loadConfig({
    file: file('log_level: warn\napi:\n  listen: 127.0.0.1:1000\n'),
    env: {
      DOCKHAND_API__LISTEN: '127.0.0.2:9000',
      DOCKHAND_LOG_LEVEL: 'debug',
      DOCKHAND_API__METRICS_AUTH: 'false',
      DOCKHAND_DOCKER__EVENTS_BUFFER: '50',
      DOCKHAND_LOGS__ROOTS: '[/a, /b]',
      DOCKHAND_LOGS__MULTILINE__MAX_LINES: '7',
      DOCKHAND_OUTPUTS: '[{type: tcp, hosts: ["127.0.0.1:5000"]}]',
      DOCKHAND_CONFIG: '/not/a/key',
      DOCKHAND_TEST_DOCKER_HOST: 'reserved for the test suite',
      OTHER: 'ignored',
    },
  });
  assert.deepEqual(config.api.listen, { host: '127.0.0.2', port: 9000 });
  assert.equal(config.log_level, 'debug');
  assert.equal(config.api.metrics_auth, false);
  assert.equal(config.docker.events_buffer, 50);
  assert.deepEqual(config.logs.roots, ['/a', '/b']);
  assert.equal(config.logs.multiline.max_lines, 7);
  assert.equal(config.outputs[0]?.type, 'tcp');
});

test('bad and unknown environment overrides name the variable', () => {
  const bad = problems('', { DOCKHAND_API__LISTEN: 'nonsense', DOCKHAND_API_LISTEN: '1', DOCKHAND_LOGS__ROOTS__X: '1', DOCKHAND_DOCKER__TIMEOUT: '10' });
  assert.ok(bad.includes('api.listen: "nonsense" is not host:port (IPv6 as [::1]:port) (from DOCKHAND_API__LISTEN)'), bad.join('\n'));
  assert.ok(bad.includes('env DOCKHAND_API_LISTEN: no configuration key api_listen'), bad.join('\n'));
  assert.ok(bad.includes('env DOCKHAND_LOGS__ROOTS__X: no configuration key logs.roots'), bad.join('\n'));
  assert.ok(bad.some((p) => p.startsWith('docker.timeout: "10" is not a duration') && p.endsWith('(from DOCKHAND_DOCKER__TIMEOUT)')), bad.join('\n'));
});

test('restart policy "no" survives YAML 1.1 habits', () => {
  assert.equal(loadConfig({ file: file('health:\n  restart:\n    policy: no\n'), env: {} }).config.health.restart.policy, 'no');
  assert.equal(loadConfig({ file: file('health:\n  restart:\n    policy: false\n'), env: {} }).config.health.restart.policy, 'no');
});

test('cross-key bounds', () => {
  assert.ok(problems('docker:\n  reconnect_base: 1m\n  reconnect_max: 1s\n').includes('docker.reconnect_base: must not exceed docker.reconnect_max'));
});

test('logs.workers: off by default, auto or a count, from the file or the environment', () => {
  assert.equal(loadConfig({ env: {} }).config.logs.workers, 0);
  assert.equal(loadConfig({ file: file('logs:\n  workers: auto\n'), env: {} }).config.logs.workers, 'auto');
  assert.equal(loadConfig({ file: file('logs:\n  workers: 2\n'), env: {} }).config.logs.workers, 2);
  assert.equal(loadConfig({ env: { DOCKHAND_LOGS__WORKERS: 'auto' } }).config.logs.workers, 'auto');
  assert.equal(loadConfig({ env: { DOCKHAND_LOGS__WORKERS: '1', DOCKHAND_LOGS__WORKER_BACKLOG: '0' } }).config.logs.worker_backlog, 0);
  assert.deepEqual(problems('logs:\n  workers: -1\n'), ['logs.workers: must be auto or between 0 and 16, got -1']);
  assert.deepEqual(problems('logs:\n  workers: many\n'), ['logs.workers: expected auto or an integer, got string "many"']);
});
