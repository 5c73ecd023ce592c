// TLS towards Logstash with a CA made in the test: server verification (CA pinning, server
// name), client certificates, for the beats, tcp and http outputs — all on 127.0.0.1.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { createOutput } from '../../src/outputs/index.ts';
import type { Output } from '../../src/outputs/types.ts';
import { BeatsReceiver } from '../helpers/beats-receiver.ts';
import { HttpReceiver } from '../helpers/http-receiver.ts';
import { JsonLinesReceiver } from '../helpers/json-lines-receiver.ts';
import { describeOutcome, makeEvents, outputConfig, silentLogger } from '../helpers/outputs.ts';
import { createPki } from '../helpers/pki.ts';
import type { Pki } from '../helpers/pki.ts';
import { waitFor } from '../helpers/wait.ts';

let pki: Pki;
const cleanup: (() => Promise<void> | void)[] = [];
before(async () => {
  pki = await createPki({ cas: ['ca', 'client-ca', 'other-ca'], leaves: [['logstash', 'ca', 'server'], ['agent', 'client-ca', 'client']] });
});
after(async () => {
  for (const c of cleanup.reverse()) await c();
  await pki.cleanup();
});

type Overrides = Parameters<typeof outputConfig>[0];

function output(overrides: Overrides): Output {
  const o = createOutput(outputConfig({ timeout: 3000, ...overrides }), 0, { logger: silentLogger });
  cleanup.push(() => o.destroy());
  o.start();
  return o;
}

const tls = (extra: Partial<NonNullable<Overrides['tls']>> = {}): Overrides['tls'] => ({ ca: pki.path('ca.crt'), cert: null, key: null, server_name: null, verify: true, ...extra });

async function beatsReceiver(requireClientCert = false): Promise<BeatsReceiver> {
  const r = await BeatsReceiver.start({ tls: { cert: pki.pem('logstash.crt'), key: pki.pem('logstash.key'), ca: pki.pem('client-ca.crt'), requireClientCert } });
  cleanup.push(() => r.close());
  return r;
}

test('beats over TLS with the test CA pinned', async () => {
  const r = await beatsReceiver();
  const out = output({ type: 'beats', hosts: [r.address], tls: tls() });
  const outcome = await out.send(makeEvents(50), AbortSignal.timeout(20_000));
  assert.equal(outcome.kind, 'acked', describeOutcome(outcome));
  assert.equal(r.eventCount, 50);
  assert.deepEqual(r.errors, []);
});

test('beats with a required client certificate: accepted with it, refused without', async () => {
  const r = await beatsReceiver(true);
  const withCert = output({ type: 'beats', hosts: [r.address], tls: tls({ cert: pki.path('agent.crt'), key: pki.path('agent.key') }) });
  assert.equal((await withCert.send(makeEvents(5), AbortSignal.timeout(20_000))).kind, 'acked');
  assert.deepEqual(r.clientCertificates, ['agent']);

  const without = output({ type: 'beats', hosts: [r.address], tls: tls() });
  const outcome = await without.send(makeEvents(5, 100), AbortSignal.timeout(2000));
  assert.equal(outcome.kind, 'retry');
  await waitFor('refused handshake recorded', () => r.tlsErrors.length > 0);
  assert.match(without.stats().hosts[0]?.lastError ?? '', /certificate/i);
  assert.equal(r.eventCount, 5, 'nothing from the client without a certificate');
});

test('a server certificate for another name is refused (server_name), and so is an unknown CA', async () => {
  const r = await beatsReceiver();
  const wrongName = output({ type: 'beats', hosts: [r.address], tls: tls({ server_name: 'logstash.example.org' }) });
  assert.equal((await wrongName.send(makeEvents(5), AbortSignal.timeout(1500))).kind, 'retry');
  assert.match(wrongName.stats().hosts[0]?.lastError ?? '', /logstash\.example\.org|altnames/);

  const wrongCa = output({ type: 'beats', hosts: [r.address], tls: tls({ ca: pki.path('other-ca.crt') }) });
  assert.equal((await wrongCa.send(makeEvents(5), AbortSignal.timeout(1500))).kind, 'retry');
  assert.match(wrongCa.stats().hosts[0]?.lastError ?? '', /certificate/i);
  assert.equal(r.eventCount, 0);

  // The right name given explicitly works (the certificate has DNS:localhost).
  const rightName = output({ type: 'beats', hosts: [r.address], tls: tls({ server_name: 'localhost' }) });
  assert.equal((await rightName.send(makeEvents(5), AbortSignal.timeout(20_000))).kind, 'acked');
});

test('tcp json_lines over TLS', async () => {
  const r = await JsonLinesReceiver.start({ tls: { cert: pki.pem('logstash.crt'), key: pki.pem('logstash.key') } });
  cleanup.push(() => r.close());
  const out = output({ type: 'tcp', hosts: [r.address], tls: tls() });
  assert.equal((await out.send(makeEvents(30), AbortSignal.timeout(20_000))).kind, 'acked');
  await waitFor('30 lines', () => r.lineCount === 30);
  assert.deepEqual(r.lines.map((l) => l.n), Array.from({ length: 30 }, (_, i) => i));
  assert.deepEqual(r.invalid, []);
});

test('http over TLS (https://) with the test CA; a wrong server name is refused', async () => {
  const r = await HttpReceiver.start({ tls: { cert: pki.pem('logstash.crt'), key: pki.pem('logstash.key') } });
  cleanup.push(() => r.close());
  const out = output({ type: 'http', hosts: [r.url('/ingest')], tls: tls() });
  assert.equal((await out.send(makeEvents(10), AbortSignal.timeout(20_000))).kind, 'acked');
  assert.equal(r.events.length, 10);
  assert.equal(r.requests[0]?.path, '/ingest');

  const wrong = output({ type: 'http', hosts: [r.url('/ingest')], tls: tls({ server_name: 'logstash.example.org' }) });
  const outcome = await wrong.send(makeEvents(10), AbortSignal.timeout(20_000));
  assert.equal(outcome.kind, 'retry');
  assert.match(outcome.kind === 'retry' ? outcome.error.message : '', /logstash\.example\.org|altnames/);
  assert.equal(r.requestCount, 1);
});
