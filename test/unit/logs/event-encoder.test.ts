import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { ContainerEvent, AgentEvent } from '../../../src/docker/types.ts';
import { ECS_VERSION, EventEncoder } from '../../../src/logs/event-encoder.ts';
import type { FileFields } from '../../../src/logs/event-encoder.ts';
import { seededRandom } from '../../helpers/seeded-random.ts';

const encoder = (): EventEncoder => new EventEncoder({ hostName: 'node-7', hostIps: ['10.0.0.7', 'fd00::7'], agentVersion: '0.1.0' });
const T = Date.UTC(2026, 10, 22, 3, 4, 5, 678);

const FIELDS: FileFields = {
  path: '/data/application/logs/weberror_aether_nor_8_778283_20150819.log',
  dataset: 'app',
  labels: { log_type: 'weberror', app: 'aether', env: 'nor', image_tag: '8', container_hostname: '778283', log_date: '20150819' },
  container: { id: 'c0ffee'.repeat(10) + 'abcd', name: 'aether-1', imageName: 'registry.local/aether:8', imageTag: '8', labels: { 'com.docker.compose.project': 'shop', team: 'pay' } },
  tags: [],
};

const COMMON = {
  '@metadata': { beat: 'dockhand', type: '_doc', version: '0.1.0' },
  host: { name: 'node-7', ip: ['10.0.0.7', 'fd00::7'] },
  agent: { type: 'dockhand', version: '0.1.0', name: 'node-7' },
  ecs: { version: ECS_VERSION },
};

function parse(buf: Buffer): Record<string, unknown> {
  assert.equal(buf.includes(10), false, 'one line: no raw newline');
  return JSON.parse(buf.toString('utf8')) as Record<string, unknown>;
}

function messageOf(buf: Buffer): string {
  return (parse(buf) as { message: string }).message;
}

const decodeKeepBom = new TextDecoder('utf-8', { ignoreBOM: true });
const decodeDefault = new TextDecoder('utf-8', { fatal: false });

test('a line event has the ECS shape Filebeat sends', () => {
  const enc = encoder();
  const prefix = enc.prefixFor(FIELDS);
  const out = enc.encodeLine(prefix, Buffer.from('GET /order/42 500'), 123, T, ['multiline']);
  assert.deepEqual(parse(out), {
    '@timestamp': '2026-11-22T03:04:05.678Z',
    ...COMMON,
    message: 'GET /order/42 500',
    log: { file: { path: FIELDS.path }, offset: 123, flags: ['multiline'] },
    event: { dataset: 'app' },
    container: {
      id: FIELDS.container!.id,
      name: 'aether-1',
      image: { name: 'registry.local/aether:8', tag: '8' },
      labels: { com_docker_compose_project: 'shop', team: 'pay' },
    },
    labels: FIELDS.labels,
  });
  assert.ok(out.toString().startsWith('{"@timestamp":"2026-11-22T03:04:05.678Z","@metadata":{"beat":"dockhand","type":"_doc","version":"0.1.0"},"event":{"dataset":"app"},'));
  assert.ok(out.toString().endsWith(',"log":{"file":{"path":"/data/application/logs/weberror_aether_nor_8_778283_20150819.log"},"offset":123,"flags":["multiline"]},"message":"GET /order/42 500"}'));
});

test('optional parts are omitted: container, labels, tags, flags, host.ip, image tag', () => {
  const enc = new EventEncoder({ hostName: 'h', hostIps: [], agentVersion: '1' });
  const bare = parse(enc.encodeLine(enc.prefixFor({ path: '/x.log', dataset: 'tracing', labels: {}, container: null, tags: [] }), Buffer.from('m'), 0, T, []));
  assert.deepEqual(Object.keys(bare).sort(), ['@metadata', '@timestamp', 'agent', 'ecs', 'event', 'host', 'log', 'message']);
  assert.deepEqual(bare.log, { file: { path: '/x.log' }, offset: 0 });
  assert.deepEqual(bare.host, { name: 'h' });
  assert.deepEqual(bare.event, { dataset: 'tracing' });
  const tagged = parse(
    enc.encodeLine(
      enc.prefixFor({ path: '/odd name "q".log', dataset: 'app', labels: {}, container: { id: 'i', name: 'n', imageName: 'sha256:abc', imageTag: '', labels: {} }, tags: ['_filename_unparsed'] }),
      Buffer.from('m'),
      5,
      T,
      ['truncated'],
    ),
  );
  assert.deepEqual(tagged.tags, ['_filename_unparsed']);
  assert.deepEqual(tagged.container, { id: 'i', name: 'n', image: { name: 'sha256:abc' } });
  assert.deepEqual(tagged.log, { file: { path: '/odd name "q".log' }, offset: 5, flags: ['truncated'] });
});

test('escaping per RFC 8259: quotes, backslashes, every control character', () => {
  const enc = encoder();
  const prefix = enc.prefixFor(FIELDS);
  const all = Buffer.from(Array.from({ length: 0x80 }, (_, i) => i));
  assert.equal(messageOf(enc.encodeLine(prefix, all, 0, T, [])), all.toString('latin1'));
  const out = enc.encodeLine(prefix, Buffer.from('a"b\\c\td\re\nf\u0000g\u001fh\u007f'), 0, T, []).toString();
  assert.ok(out.includes('"message":"a\\"b\\\\c\\td\\re\\nf\\u0000g\\u001fh\u007f"'), out);
  assert.equal(messageOf(enc.encodeLine(prefix, Buffer.from('\b\f'), 0, T, [])), '\b\f');
  assert.ok(enc.encodeLine(prefix, Buffer.from('\b\f'), 0, T, []).toString().includes('"\\b\\f"'), 'short escapes');
});

test('valid UTF-8 passes unchanged, U+2028/2029 and 4-byte characters included', () => {
  const enc = encoder();
  const prefix = enc.prefixFor(FIELDS);
  for (const s of ['订单服务异常：支付失败', 'naïve café', 'line\u2028sep\u2029para', '😀 emoji 𝄞', '\ufeffBOM at start', 'mixed "中文" \\ and\ttab']) {
    assert.equal(messageOf(enc.encodeLine(prefix, Buffer.from(s), 0, T, [])), s);
  }
});

test('invalid UTF-8 becomes U+FFFD exactly as the WHATWG decoder does', () => {
  const enc = encoder();
  const prefix = enc.prefixFor(FIELDS);
  const cases: number[][] = [
    [0x80],
    [0xff],
    [0xc0, 0x80], // overlong
    [0xc1, 0xbf],
    [0xe0, 0x80, 0x80], // overlong 3-byte
    [0xe0, 0xa0], // truncated at the end
    [0xed, 0xa0, 0x80], // surrogate
    [0xed, 0x9f, 0xbf], // U+D7FF: valid
    [0xf0, 0x8f, 0xbf, 0xbf], // overlong 4-byte
    [0xf4, 0x90, 0x80, 0x80], // above U+10FFFF
    [0xf4, 0x8f, 0xbf, 0xbf], // U+10FFFF: valid
    [0xf0, 0x9f, 0x98], // truncated emoji
    [0xf0, 0x9f, 0x98, 0x41], // broken by ASCII: the A is kept
    [0xe2, 0x41, 0x22], // broken by a quote that still needs escaping
    [0xe2, 0x82, 0xe2, 0x82, 0xac], // truncated then a valid €
    [0xf5, 0x80, 0x80, 0x80],
    [0xc3, 0x0a, 0x5c], // broken by a newline and a backslash
    [0x41, 0xc3],
  ];
  for (const bytes of cases) {
    const buf = Buffer.from(bytes);
    assert.equal(messageOf(enc.encodeLine(prefix, buf, 0, T, [])), decodeDefault.decode(buf), bytes.map((b) => b.toString(16)).join(' '));
  }
});

test('fuzz: random bytes always give valid JSON whose message is the decoded text', () => {
  const enc = encoder();
  const prefix = enc.prefixFor(FIELDS);
  const rand = seededRandom(42);
  const interesting = [0x22, 0x5c, 0x00, 0x09, 0x0a, 0x1f, 0x7f, 0x80, 0xbf, 0xc0, 0xc2, 0xe0, 0xe2, 0x80, 0xa8, 0xed, 0xef, 0xbb, 0xbf, 0xf0, 0xf4, 0xf5, 0xff, 0x41];
  for (let round = 0; round < 5000; round++) {
    const len = rand(64);
    const bytes = Buffer.from(Array.from({ length: len }, () => (rand(2) === 0 ? rand(256) : (interesting[rand(interesting.length)] as number))));
    const out = enc.encodeLine(prefix, bytes, round, T + round, rand(3) === 0 ? ['truncated'] : []);
    const parsed = JSON.parse(out.toString('utf8')) as { message: string; log: { offset: number } };
    assert.equal(parsed.message, decodeKeepBom.decode(bytes), `round ${round}: ${bytes.toString('hex')}`);
    if (!(bytes[0] === 0xef && bytes[1] === 0xbb && bytes[2] === 0xbf)) assert.equal(parsed.message, decodeDefault.decode(bytes));
    assert.equal(parsed.log.offset, round);
  }
});

test('a leading BOM is kept (byte-exact copy), unlike TextDecoder with its default ignoreBOM: false', () => {
  const enc = encoder();
  const bytes = Buffer.from([0xef, 0xbb, 0xbf, 0x41]);
  assert.equal(messageOf(enc.encodeLine(enc.prefixFor(FIELDS), bytes, 0, T, [])), '\ufeffA');
});

test('timestamps: milliseconds, seconds, years outside 0-9999', () => {
  const enc = encoder();
  const prefix = enc.prefixFor(FIELDS);
  for (const ms of [T, T + 1, T + 22, T + 321, T + 1000, T - 678, 0, 999, -1, -86_400_001, Date.UTC(9999, 11, 31, 23, 59, 59, 999), Date.UTC(10000, 0, 1), Date.UTC(-1, 0, 1, 0, 0, 0, 5), T + 5]) {
    assert.equal((parse(enc.encodeLine(prefix, Buffer.from('x'), 0, ms, [])) as { '@timestamp': string })['@timestamp'], new Date(ms).toISOString(), String(ms));
  }
});

test('offsets up to 2^53-1, on both sides of every digit count', () => {
  const enc = encoder();
  const prefix = enc.prefixFor(FIELDS);
  const tens = Array.from({ length: 16 }, (_, k) => [10 ** k - 1, 10 ** k, 10 ** k + 1]).flat();
  for (const offset of [...tens, 1234567, 2 ** 31 - 1, 2 ** 31, 2 ** 32, 2 ** 53 - 1]) {
    assert.equal((parse(enc.encodeLine(prefix, Buffer.from('x'), offset, T, [])) as { log: { offset: number } }).log.offset, offset);
  }
});

test('events are slices of a shared slab that later events never overwrite', () => {
  const enc = encoder();
  const prefix = enc.prefixFor(FIELDS);
  const first = enc.encodeLine(prefix, Buffer.from('first'), 1, T, []);
  const copy = Buffer.from(first);
  const second = enc.encodeLine(prefix, Buffer.from('second'), 2, T, []);
  assert.equal(first.buffer, second.buffer, 'same slab');
  assert.equal(second.byteOffset, first.byteOffset + first.length + 1, 'packed back to back, a newline between');
  const all: Buffer[] = [];
  for (let i = 0; i < 20_000; i++) all.push(enc.encodeLine(prefix, Buffer.from(`line ${i} "q" ${'x'.repeat(i % 300)}`), i, T, []));
  assert.deepEqual(first, copy);
  assert.ok(new Set(all.map((b) => b.buffer)).size > 3, 'several slabs were used');
  for (let i = 0; i < all.length; i += 997) assert.equal(messageOf(all[i] as Buffer), `line ${i} "q" ${'x'.repeat(i % 300)}`);
});

test('large messages get their own buffer, plain or needing escapes', () => {
  const enc = encoder();
  const prefix = enc.prefixFor(FIELDS);
  const plain = Buffer.alloc(1024 * 1024, 0x61);
  const out = enc.encodeLine(prefix, plain, 0, T, ['truncated']);
  assert.equal(messageOf(out).length, 1024 * 1024);
  assert.equal(out.byteOffset, 0);
  const tabs = Buffer.alloc(300 * 1024, 0x09);
  tabs[5] = 0xff;
  const escaped = enc.encodeLine(prefix, tabs, 0, T, []);
  assert.equal(messageOf(escaped), decodeDefault.decode(tabs));
  assert.equal(escaped.length, escaped.buffer.byteLength, 'copied out to its exact size');
  const small = enc.encodeLine(prefix, Buffer.from('after'), 0, T, []);
  assert.equal(messageOf(small), 'after');
});

test('prefixFor copies its input; updateHost rebuilds prefixes on their next use', () => {
  const enc = encoder();
  const fields: FileFields = { ...FIELDS, labels: { ...FIELDS.labels }, tags: [] };
  const prefix = enc.prefixFor(fields);
  fields.labels.app = 'changed';
  assert.equal((parse(enc.encodeLine(prefix, Buffer.from('x'), 0, T, [])) as { labels: { app: string } }).labels.app, 'aether');
  enc.updateHost('node-8', ['10.0.0.8']);
  const after = parse(enc.encodeLine(prefix, Buffer.from('x'), 0, T, []));
  assert.deepEqual(after.host, { name: 'node-8', ip: ['10.0.0.8'] });
  assert.deepEqual(after.agent, { type: 'dockhand', version: '0.1.0', name: 'node-8' });
});

test('container lifecycle events: event.dataset docker.event, exit code, signal, health', () => {
  const enc = encoder();
  const die: ContainerEvent = {
    kind: 'container',
    seq: 17,
    time: T,
    action: 'die',
    containerId: 'f'.repeat(64),
    containerName: 'web-1',
    image: 'nginx:1.27',
    exitCode: 137,
    labels: { 'com.example.team': 'edge' },
  };
  assert.deepEqual(parse(enc.encodeRecord(die, T + 50)), {
    '@timestamp': '2026-11-22T03:04:05.678Z',
    ...COMMON,
    message: 'container web-1 (ffffffffffff) died with exit code 137',
    event: { kind: 'event', dataset: 'docker.event', action: 'die', sequence: 17, created: '2026-11-22T03:04:05.728Z' },
    container: { id: 'f'.repeat(64), name: 'web-1', image: { name: 'nginx:1.27' }, labels: { com_example_team: 'edge' } },
    docker: { exit_code: 137 },
  });
  const kill = parse(enc.encodeRecord({ ...die, action: 'kill', exitCode: undefined, signal: 'SIGKILL', labels: {} }, T));
  assert.deepEqual(kill.docker, { signal: 'SIGKILL' });
  assert.equal(kill.message, 'container web-1 (ffffffffffff) was sent SIGKILL');
  assert.deepEqual(kill.container, { id: 'f'.repeat(64), name: 'web-1', image: { name: 'nginx:1.27' } });
  const health = parse(enc.encodeRecord({ ...die, action: 'health_status', exitCode: undefined, health: 'unhealthy' }, T));
  assert.deepEqual(health.docker, { health: 'unhealthy' });
  const start = parse(enc.encodeRecord({ ...die, action: 'start', exitCode: undefined }, T));
  assert.equal(start.docker, undefined);
  assert.equal(start.message, 'container web-1 (ffffffffffff): start');
});

test('agent events: event.dataset dockhand.agent, log.level, details', () => {
  const enc = encoder();
  const lost: AgentEvent = { kind: 'agent', seq: 3, time: T, action: 'docker_disconnected', level: 'warn', message: 'Docker event stream lost', details: { attempt: 2 } };
  assert.deepEqual(parse(enc.encodeRecord(lost, T)), {
    '@timestamp': '2026-11-22T03:04:05.678Z',
    ...COMMON,
    message: 'Docker event stream lost',
    event: { kind: 'event', dataset: 'dockhand.agent', action: 'docker_disconnected', sequence: 3, created: '2026-11-22T03:04:05.678Z' },
    log: { level: 'warn' },
    dockhand: { details: { attempt: 2 } },
  });
  const bad = parse(enc.encodeRecord({ ...lost, time: Number.NaN, details: undefined }, T));
  assert.equal(bad['@timestamp'], '2026-11-22T03:04:05.678Z', 'an event without a valid time takes the encoding time');
  assert.equal(bad.dockhand, undefined);
});

test('slabs come back for reuse once all their events are released; an unreleased event keeps its bytes', () => {
  const enc = encoder();
  const prefix = enc.prefixFor({ path: '/l/a.log', dataset: 'app', labels: {}, container: null, tags: [] });
  const message = Buffer.alloc(900, 0x61);
  const events: Buffer[] = [];
  // about 1,000 events per 1 MiB slab: 5,000 events fill several
  for (let i = 0; i < 5000; i++) events.push(enc.encodeLine(prefix, message, i, 0, []));
  const held = events[10] as Buffer;
  const heldCopy = Buffer.from(held);
  assert.equal(enc.slabStats.reused, 0);
  for (const e of events) if (e !== held) enc.release(e);
  // a second release of an event is ignored once its slab has gone back (no count below zero)
  enc.release(events[0] as Buffer);
  for (let i = 0; i < 5000; i++) enc.release(enc.encodeLine(prefix, message, i, 0, []));
  const stats = enc.slabStats;
  assert.ok(stats.reused > 0, JSON.stringify(stats));
  assert.ok(stats.allocated <= 8, `slabs were reused rather than allocated: ${JSON.stringify(stats)}`);
  // the first slab still has `held` outstanding: it was never handed out again
  assert.deepEqual(held, heldCopy);
  assert.equal((JSON.parse(held.toString()) as { log: { offset: number } }).log.offset, 10);
});

test('slab events are followed by a newline there and lie back to back: json_lines writes them in place', () => {
  const enc = encoder();
  const prefix = enc.prefixFor(FIELDS);
  const lines = ['plain', 'with "quotes"\nand a newline', '\u0000\u001f controls', 'é ünïcode'];
  const events = lines.map((l, i) => enc.encodeLine(prefix, Buffer.from(l), i * 100, T, []));
  for (const [i, e] of events.entries()) {
    assert.equal(messageOf(e), lines[i]);
    const after = Buffer.from(e.buffer, e.byteOffset + e.length, 1);
    assert.equal(after[0], 10, `a newline after event ${i}`);
    if (i > 0) assert.equal(e.byteOffset, (events[i - 1] as Buffer).byteOffset + (events[i - 1] as Buffer).length + 1, 'the next event starts after it');
  }
  // an event too large for a slab has its own memory and no newline promise
  const large = enc.encodeLine(prefix, Buffer.alloc(400 * 1024, 0x61), 0, T, []);
  assert.equal(large.byteOffset, 0);
  assert.equal(large.buffer.byteLength, large.length);
});
