// bench/outputs: throughput of the Logstash outputs to local receivers on 127.0.0.1 — Beats with
// ACKs (compression 0 and 3, and over TLS), TCP json_lines and HTTP — with ~200-byte events in
// batches of bulk_max_size (2048), as many in flight as the output allows (as the pipeline
// drives it). Sender and receiver run in separate processes, so the sender's CPU time and RSS
// are the output's own. Prints figures, asserts nothing.
//
//   node bench/outputs.ts [--events 2000000] [--modes beats,beats-z3,beats-tls,tcp,http]
//                         [--profile DIR] [--sender-node-args="--trace-gc …"]
//
// --profile writes a V8 CPU profile of each sender (node --cpu-prof) into DIR. The events repeat
// a pool of 8192 similar ECS documents, so zlib ratios here (~14×) flatter real logs.
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { benchArgs } from './args.ts';
import { createOutput } from '../src/outputs/index.ts';
import type { SendOutcome } from '../src/outputs/types.ts';
import { BeatsReceiver } from '../test/helpers/beats-receiver.ts';
import { HttpReceiver } from '../test/helpers/http-receiver.ts';
import { JsonLinesReceiver } from '../test/helpers/json-lines-receiver.ts';
import { outputConfig, silentLogger } from '../test/helpers/outputs.ts';
import { createPki } from '../test/helpers/pki.ts';
import type { Pki } from '../test/helpers/pki.ts';

const SELF = fileURLToPath(import.meta.url);
const BATCH = 2048;

interface Mode {
  name: string;
  type: 'beats' | 'tcp' | 'http';
  compression: number;
  tls?: boolean;
}

const MODES: Record<string, Mode> = {
  beats: { name: 'beats (ACKed), compression 0', type: 'beats', compression: 0 },
  'beats-z3': { name: 'beats (ACKed), compression 3', type: 'beats', compression: 3 },
  'beats-tls': { name: 'beats (ACKed) over TLS', type: 'beats', compression: 0, tls: true },
  tcp: { name: 'tcp json_lines', type: 'tcp', compression: 0 },
  http: { name: 'http (JSON array POST)', type: 'http', compression: 0 },
};

interface SenderFigures {
  events: number;
  payloadBytes: number;
  wallMs: number;
  cpuUserMs: number;
  cpuSystemMs: number;
  /** Peak RSS of the whole sender process (includes loading the TypeScript sources: type stripping). */
  maxRssKiB: number;
  /** RSS once loaded and the events made, before the first send; and after the last ACK. */
  rssBeforeKiB: number;
  rssAfterKiB: number;
  retries: number;
}

interface ReceiverFigures {
  events: number;
  bytes: number;
  cpuMs: number;
  errors: number;
}

/** ~200-byte events shaped like the log events the agent ships (ECS fields), all distinct. */
function makeEvents(count: number): Buffer[] {
  const out: Buffer[] = [];
  for (let i = 0; i < count; i++) {
    const e = {
      '@timestamp': new Date(1_700_000_000_000 + i).toISOString(),
      message: `GET /api/v1/orders/${100000 + i} 200 ${i % 997}ms user=${i % 31}`,
      log: { file: { path: '/data/application/logs/access_shop_pro_8_a1b2c3_20260101.log' }, offset: i * 200 },
      host: { name: 'docker-17' },
    };
    let s = JSON.stringify(e);
    if (s.length < 200) s = s.slice(0, -1) + `,"p":"${'x'.repeat(200 - s.length - 7)}"}`;
    out.push(Buffer.from(s));
  }
  return out;
}

// ---- receiver process -------------------------------------------------------------------------
async function serve(kind: Mode['type'], pkiDir: string | undefined): Promise<void> {
  const send = (m: unknown): void => void process.send?.(m);
  let figures: () => ReceiverFigures;
  let address: string;
  if (kind === 'beats') {
    const tls = pkiDir ? { cert: readFileSync(join(pkiDir, 'logstash.crt')), key: readFileSync(join(pkiDir, 'logstash.key')) } : undefined;
    const r = await BeatsReceiver.start({ record: false, ...(tls ? { tls } : {}) });
    address = r.address;
    figures = () => ({ events: r.eventCount, bytes: r.bytes, cpuMs: 0, errors: r.errors.length });
  } else if (kind === 'tcp') {
    const r = await JsonLinesReceiver.start({ record: false });
    address = r.address;
    figures = () => ({ events: r.lineCount, bytes: r.bytes, cpuMs: 0, errors: 0 });
  } else {
    const r = await HttpReceiver.start({ record: false });
    address = r.address;
    // Without recording the receiver cannot count events; the sender knows them (acked = accepted).
    figures = () => ({ events: -1, bytes: r.bytes, cpuMs: 0, errors: 0 });
  }
  process.on('message', (m) => {
    if (m === 'figures') {
      const cpu = process.cpuUsage();
      send({ ...figures(), cpuMs: (cpu.user + cpu.system) / 1000 });
    }
    if (m === 'exit') process.exit(0);
  });
  send({ address });
}

// ---- sender process ---------------------------------------------------------------------------
async function sendAll(mode: Mode, address: string, total: number, pkiDir: string | undefined): Promise<void> {
  const pool = makeEvents(8192);
  const tls = pkiDir ? { ca: join(pkiDir, 'ca.crt'), cert: null, key: null, server_name: null, verify: true } : null;
  const output = createOutput(outputConfig({ type: mode.type, hosts: [address], compression_level: mode.compression, bulk_max_size: BATCH, timeout: 60_000, tls }), 0, { logger: silentLogger });
  output.start();
  const signal = new AbortController().signal;
  let next = 0;
  let payloadBytes = 0;
  let retries = 0;
  const batchAt = (start: number, n: number): Buffer[] => {
    const b = new Array<Buffer>(n);
    for (let i = 0; i < n; i++) {
      const e = pool[(start + i) % pool.length] as Buffer;
      b[i] = e;
      payloadBytes += e.length;
    }
    return b;
  };
  const deliver = async (events: Buffer[]): Promise<void> => {
    let done = 0;
    while (done < events.length) {
      const o: SendOutcome = await output.send(done === 0 ? events : events.slice(done), signal);
      if (o.kind === 'acked') return;
      if (o.kind === 'fatal') throw new Error(o.error.message);
      retries++;
      done += o.acked;
    }
  };
  const rssBeforeKiB = Math.round(process.memoryUsage.rss() / 1024);
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  await Promise.all(
    Array.from({ length: output.maxInFlight }, async () => {
      while (next < total) {
        const n = Math.min(BATCH, total - next);
        const batch = batchAt(next, n);
        next += n;
        await deliver(batch);
      }
    }),
  );
  const wallMs = performance.now() - t0;
  const cpu = process.cpuUsage(cpu0);
  await output.close();
  const figures: SenderFigures = {
    events: total,
    payloadBytes,
    wallMs,
    cpuUserMs: cpu.user / 1000,
    cpuSystemMs: cpu.system / 1000,
    maxRssKiB: process.resourceUsage().maxRSS,
    rssBeforeKiB,
    rssAfterKiB: Math.round(process.memoryUsage.rss() / 1024),
    retries,
  };
  process.send?.(figures);
}

// ---- orchestration ----------------------------------------------------------------------------
function child(args: string[], nodeArgs: string[] = []): ChildProcess {
  return spawn(process.execPath, [...nodeArgs, SELF, ...args], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
}

function nextMessage<T>(c: ChildProcess): Promise<T> {
  return new Promise((resolve, reject) => {
    c.once('message', (m) => resolve(m as T));
    c.once('exit', (code) => reject(new Error(`child exited (${code}) before answering`)));
  });
}

async function runMode(key: string, total: number, senderNodeArgs: string[]): Promise<void> {
  const mode = MODES[key];
  if (!mode) throw new Error(`unknown mode ${key} (known: ${Object.keys(MODES).join(', ')})`);
  let pki: Pki | undefined;
  if (mode.tls) pki = await createPki({ cas: ['ca'], leaves: [['logstash', 'ca', 'server']] });
  const pkiArgs = pki ? ['--pki', pki.dir] : [];
  const receiver = child(['--serve', mode.type, ...pkiArgs]);
  const { address } = await nextMessage<{ address: string }>(receiver);
  const sender = child(['--send', key, '--address', address, '--events', String(total), ...pkiArgs], senderNodeArgs);
  const s = await nextMessage<SenderFigures>(sender);
  await new Promise((r) => sender.once('exit', r));
  // tcp: "acked" is "written"; wait until the receiver has read everything before taking its figures.
  let r = await askFigures(receiver);
  for (let i = 0; mode.type === 'tcp' && r.events < total && i < 600; i++) {
    await new Promise((res) => setTimeout(res, 100));
    r = await askFigures(receiver);
  }
  receiver.send('exit');
  await pki?.cleanup();
  const mib = s.payloadBytes / 2 ** 20;
  const secs = s.wallMs / 1000;
  const cpuMs = s.cpuUserMs + s.cpuSystemMs;
  console.log(
    `${mode.name.padEnd(30)} ${(total / secs / 1000).toFixed(0).padStart(6)}k ev/s ${(mib / secs).toFixed(1).padStart(7)} MiB/s  ` +
      `sender CPU ${cpuMs.toFixed(0)} ms (${((cpuMs * 1000) / total).toFixed(2)} µs/event, ${((cpuMs / s.wallMs) * 100).toFixed(0)}% of a core; user ${s.cpuUserMs.toFixed(0)}, sys ${s.cpuSystemMs.toFixed(0)})  ` +
      `RSS ${(s.rssBeforeKiB / 1024).toFixed(0)} → ${(s.rssAfterKiB / 1024).toFixed(0)} MiB (peak ${(s.maxRssKiB / 1024).toFixed(0)})  wire ${(r.bytes / 2 ** 20).toFixed(0)} MiB  receiver CPU ${r.cpuMs.toFixed(0)} ms  retries ${s.retries}  errors ${r.errors}` +
      (r.events >= 0 && r.events !== total ? `  RECEIVED ${r.events}/${total}` : ''),
  );
}

function askFigures(receiver: ChildProcess): Promise<ReceiverFigures> {
  const p = nextMessage<ReceiverFigures>(receiver);
  receiver.send('figures');
  return p;
}

const { values } = benchArgs(import.meta.url, {
  options: {
    serve: { type: 'string' },
    send: { type: 'string' },
    address: { type: 'string' },
    events: { type: 'string', default: '2000000' },
    modes: { type: 'string', default: 'beats,beats-z3,beats-tls,tcp,http' },
    profile: { type: 'string' },
    'sender-node-args': { type: 'string', default: '' },
    pki: { type: 'string' },
  },
});

if (values.serve) {
  await serve(values.serve as Mode['type'], values.pki);
} else if (values.send) {
  await sendAll(MODES[values.send] as Mode, values.address as string, Number(values.events), values.pki);
  process.exit(0);
} else {
  const total = Number(values.events);
  console.log(`bench/outputs: ${total} events of ~200 B per mode, batches of ${BATCH}, to receivers on 127.0.0.1 (separate process); node ${process.version}`);
  const nodeArgs = values['sender-node-args'].split(' ').filter(Boolean);
  if (values.profile) nodeArgs.push('--cpu-prof', `--cpu-prof-dir=${values.profile}`);
  for (const key of values.modes.split(',')) await runMode(key.trim(), total, nodeArgs);
}
