import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ConfigError } from '../../../src/core/errors.ts';
import { parseHttpEndpoints, parseStreamEndpoints } from '../../../src/outputs/endpoint.ts';
import { createOutput } from '../../../src/outputs/index.ts';
import { loadOutputTls, tlsConnectOptions } from '../../../src/outputs/tls-options.ts';
import { outputConfig, silentLogger } from '../../helpers/outputs.ts';

function problems(fn: () => unknown): string[] {
  try {
    fn();
  } catch (err) {
    if (err instanceof ConfigError) return err.problems.map((p) => `${p.path}: ${p.reason}`);
    throw err;
  }
  return [];
}

test('socket endpoints are host:port; bad entries are named by key path', () => {
  assert.deepEqual(parseStreamEndpoints(['10.0.0.1:5044', 'logstash.local:5045', '[::1]:5044'], 'outputs[0].hosts'), [
    { label: '10.0.0.1:5044', host: '10.0.0.1', port: 5044 },
    { label: 'logstash.local:5045', host: 'logstash.local', port: 5045 },
    { label: '[::1]:5044', host: '::1', port: 5044 },
  ]);
  assert.deepEqual(problems(() => parseStreamEndpoints(['ok:1', 'nohost', 'h:99999'], 'outputs[2].hosts')), [
    'outputs[2].hosts[1]: "nohost" is not host:port (IPv6 as [::1]:port)',
    'outputs[2].hosts[2]: port 99999 is out of range',
  ]);
});

test('http endpoints: URLs kept, host:port gets a scheme from tls; contradictions refused', () => {
  assert.deepEqual(parseHttpEndpoints(['http://ls:8080/in?x=1', '127.0.0.1:8080'], false, 'o.hosts'), [
    { label: 'http://ls:8080/in?x=1', origin: 'http://ls:8080', path: '/in?x=1', hostname: 'ls' },
    { label: '127.0.0.1:8080', origin: 'http://127.0.0.1:8080', path: '/', hostname: '127.0.0.1' },
  ]);
  assert.equal(parseHttpEndpoints(['[::1]:8443'], true, 'o.hosts')[0]?.origin, 'https://[::1]:8443');
  assert.equal(parseHttpEndpoints(['[::1]:8443'], true, 'o.hosts')[0]?.hostname, '::1');
  assert.deepEqual(problems(() => parseHttpEndpoints(['ftp://x/', 'http://u:p@x/', 'http://x/'], true, 'o.hosts')).map((p) => p.split(':')[0]), ['o.hosts[0]', 'o.hosts[1]', 'o.hosts[2]']);
});

test('TLS: server_name is what the certificate must carry; IPs are never sent as SNI', () => {
  const tls = { ca: Buffer.from('x'), cert: null, key: null, serverName: null, verify: true };
  const byIp = tlsConnectOptions(tls, '127.0.0.1');
  assert.equal(byIp.servername, undefined);
  assert.equal(byIp.rejectUnauthorized, true);
  const named = tlsConnectOptions({ ...tls, serverName: 'logstash.internal' }, '10.1.2.3');
  assert.equal(named.servername, 'logstash.internal');
  // The identity check uses server_name whatever host the socket connected to.
  const cert = { subject: { CN: 'other' }, subjectaltname: 'DNS:logstash.internal' } as never;
  assert.equal(named.checkServerIdentity?.('10.1.2.3', cert), undefined);
  assert.ok(byIp.checkServerIdentity?.('127.0.0.1', cert) instanceof Error);
  assert.equal(tlsConnectOptions({ ...tls, verify: false }, 'h').rejectUnauthorized, false);
});

test('unreadable TLS files and bad hosts fail the build with key paths', () => {
  const tlsProblems = problems(() => loadOutputTls({ ca: '/nonexistent/ca.pem', cert: '/nonexistent/c.pem', key: null, server_name: null, verify: true }, 'outputs[1].tls'));
  assert.deepEqual(tlsProblems.map((p) => p.split(':')[0]), ['outputs[1].tls.ca', 'outputs[1].tls.cert', 'outputs[1].tls']);
  assert.match(tlsProblems[0] ?? '', /ENOENT/);
  assert.deepEqual(problems(() => createOutput(outputConfig({ type: 'tcp', hosts: ['bad host'] }), 3, { logger: silentLogger })).map((p) => p.split(':')[0]), ['outputs[3].hosts[0]']);
});

test('the factory names outputs and sizes their pipelining', () => {
  const beats = createOutput(outputConfig({ type: 'beats', hosts: ['127.0.0.1:1', '127.0.0.1:2'], loadbalance: true, pipelining: 3 }), 0, { logger: silentLogger });
  assert.deepEqual([beats.name, beats.maxInFlight], ['beats[0]', 6]);
  const http = createOutput(outputConfig({ type: 'http', hosts: ['127.0.0.1:1', '127.0.0.1:2'], pipelining: 2, max_retries: 3 }), 1, { logger: silentLogger });
  assert.deepEqual([http.name, http.maxInFlight], ['http[1]', 2]);
  assert.equal(beats.stats().state, 'disconnected', 'not started: nothing attempted');
  beats.destroy();
  http.destroy();
  assert.equal(http.stats().state, 'closed');
});

test('check-config already refuses hosts that are neither host:port nor a URL', async () => {
  const { loadConfig } = await import('../../../src/configuration.ts');
  const env = { DOCKHAND_OUTPUTS: '[{type: http, hosts: ["http://ls:8080/in", "ls:5044", "nohost", "http://[bad/"]}]' };
  assert.deepEqual(problems(() => loadConfig({ env, checkFiles: false })), [
    'outputs[0].hosts[2]: "nohost" is not host:port (IPv6 as [::1]:port)',
    'outputs[0].hosts[3]: "http://[bad/" is not a valid URL',
  ]);
});
