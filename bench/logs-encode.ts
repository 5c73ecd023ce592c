// bench/logs-encode: the per-line hot path of log collection, in process, on one core —
// 1 MiB chunks → LineSplitter → MultilineJoiner (default Java pattern) → EventEncoder.
// Generates realistic ~200-byte lines in memory (a few % Java stack traces, some lines needing
// JSON escapes, some UTF-8 text, a few invalid bytes), runs each stage cumulatively, and prints
// MiB/s (input bytes), lines/s, CPU µs per line and peak RSS. Not a test: asserts nothing.
// The last stage adds what logs.exceptions does (src/exceptions): joined events parsed for a
// stack trace, fingerprinted, counted, error.* appended — as src/logs/file-events.ts calls it.
//
//   node bench/logs-encode.ts [--mib 200] [--rounds 3] [--json] [--traces 2]
//     --json: every ordinary line is a JSON object, so every line needs escapes
//     --traces: stack traces per 1000 events (default 2: ~6% of lines are trace lines; 0 = none)
//   node --cpu-prof --cpu-prof-dir=/tmp/prof bench/logs-encode.ts --mib 100 --rounds 1
import { benchArgs } from './args.ts';
import { ExceptionInspector } from '../src/exceptions/inspector.ts';
import { EventEncoder } from '../src/logs/event-encoder.ts';
import { FILENAME_UNPARSED_TAG, labelsForLogFile, parseLogFileName } from '../src/logs/filename.ts';
import { LineSplitter } from '../src/logs/line-splitter.ts';
import { MultilineJoiner } from '../src/logs/multiline.ts';
import type { JoinedEvent } from '../src/logs/multiline.ts';
import { seededRandom } from '../test/helpers/seeded-random.ts';

const { values } = benchArgs(import.meta.url, { options: { mib: { type: 'string', default: '200' }, rounds: { type: 'string', default: '3' }, json: { type: 'boolean', default: false }, traces: { type: 'string', default: '2' } } });
const TRACES_PER_MILLE = Number(values.traces);
const JSON_LINES = values.json;
const TARGET_BYTES = Number(values.mib) * 1024 * 1024;
const ROUNDS = Number(values.rounds);
const CHUNK = 1024 * 1024;
const JAVA = '^(\\s+at |\\s+\\.\\.\\. \\d+ more|\\s*Caused by:|\\s+Suppressed:)'; // the default logs.multiline.pattern
/** Encoded events kept alive, as a pipeline queue would hold them until acknowledged. */
const RETAINED = 8192;

// ---- data -------------------------------------------------------------------------------
const rand = seededRandom(12345);
const LEVELS = ['INFO ', 'INFO ', 'INFO ', 'DEBUG', 'WARN '];
const CLASSES = ['c.e.order.OrderService', 'c.e.pay.PaymentGateway', 'c.e.user.UserController', 'o.a.c.c.StandardWrapperValve', 'c.e.cache.RedisClient'];
const WORDS = ['processed', 'request', 'order', 'user', 'latency', 'cache', 'miss', 'hit', 'retry', 'upstream', 'status', 'ok', 'checkout', 'inventory', 'reserved'];
const CJK = ['订单', '支付', '成功', '用户', '库存', '失败', '请求', '缓存'];

function stamp(i: number): string {
  const s = i % 86_400;
  const pad = (n: number, w = 2): string => String(n).padStart(w, '0');
  return `2026-11-22 ${pad(Math.floor(s / 3600))}:${pad(Math.floor(s / 60) % 60)}:${pad(s % 60)}.${pad(i % 1000, 3)}`;
}

function ordinaryLine(i: number): string {
  if (JSON_LINES) {
    const head = `{"ts":"${stamp(i)}","level":"${LEVELS[rand(LEVELS.length)]?.trim()}","logger":"${CLASSES[rand(CLASSES.length)]}","msg":"`;
    let body = '';
    while (head.length + body.length < 185) body += `${WORDS[rand(WORDS.length)]} ${rand(100000)} `;
    return `${head}${body.trimEnd()}"}`;
  }
  const head = `${stamp(i)} ${LEVELS[rand(LEVELS.length)]} [http-nio-8080-exec-${rand(200)}] ${CLASSES[rand(CLASSES.length)]} - `;
  const kind = rand(100);
  let body: string;
  if (kind < 5) body = `payload={"orderId":${rand(1e6)},"sku":"A-${rand(1e4)}","note":"gift \\"wrap\\""} `;
  else if (kind < 10) body = `${CJK[rand(CJK.length)]}${CJK[rand(CJK.length)]} 订单号 ${rand(1e6)} 处理完成 `;
  else body = '';
  while (head.length + body.length < 190) body += `${WORDS[rand(WORDS.length)]}=${rand(100000)} `;
  return head + body.trimEnd();
}

function stackTrace(i: number): string[] {
  const lines = [`${stamp(i)} ERROR [http-nio-8080-exec-${rand(200)}] c.e.order.OrderService - order ${rand(1e6)} failed`];
  lines.push('java.lang.IllegalStateException: payment declined by "gateway"');
  const depth = 10 + rand(25);
  for (let d = 0; d < depth; d++) lines.push(`\tat com.example.${WORDS[rand(WORDS.length)]}.Service${rand(50)}.call${rand(9)}(Service${rand(50)}.java:${rand(900)})`);
  lines.push('Caused by: java.net.SocketTimeoutException: Read timed out');
  for (let d = 0; d < 5; d++) lines.push(`\tat java.base/java.net.SocketInputStream.read(SocketInputStream.java:${rand(300)})`);
  lines.push(`\t... ${10 + rand(40)} more`);
  return lines;
}

function generate(): { data: Buffer; lines: number; traces: number } {
  // One preallocated buffer: no parts + concat copy, so peak RSS reflects the pipeline.
  const data = Buffer.allocUnsafeSlow(TARGET_BYTES + 64 * 1024);
  let bytes = 0;
  let lines = 0;
  let traces = 0;
  const put = (line: string): void => {
    bytes += data.write(line, bytes, 'utf8');
    data[bytes++] = 0x0a;
    lines++;
  };
  for (let i = 0; bytes < TARGET_BYTES; i++) {
    if (rand(1000) < TRACES_PER_MILLE) {
      // 0.2% of events are a stack trace of 18-43 lines: ~6% of all lines are trace lines.
      for (const l of stackTrace(i)) put(l);
      traces++;
    } else {
      put(ordinaryLine(i));
    }
    if (rand(20000) === 0) {
      // A line with invalid UTF-8 now and then.
      bytes += Buffer.from([0x62, 0x61, 0x64, 0xff, 0xfe, 0x20, 0xe2, 0x28, 0x0a]).copy(data, bytes);
      lines++;
    }
  }
  return { data: data.subarray(0, bytes), lines, traces };
}

// ---- stages -----------------------------------------------------------------------------
type Stage = 'split' | 'split+join' | 'split+join+encode' | 'split+encode (multiline off)' | 'split+join+encode+exceptions';

interface Result {
  stage: Stage;
  /** Highest RSS seen during the run, sampled per chunk. */
  rssPeak: number;
  wallMs: number;
  cpuMs: number;
  lines: number;
  events: number;
  outBytes: number;
}

function runStage(stage: Stage, data: Buffer): Result {
  const splitter = new LineSplitter({ maxLineBytes: 1024 * 1024 });
  const joiner = new MultilineJoiner({ pattern: stage === 'split+encode (multiline off)' ? null : JAVA, negate: false, match: 'after', maxLines: 500, maxBytes: 1024 * 1024, timeoutMs: 5000 });
  const encoder = new EventEncoder({ hostName: 'node-7.dc1.example', hostIps: ['10.20.30.40', 'fd00::40'], agentVersion: '0.1.0' });
  const path = '/data/application/logs/weberror_aether_nor_8_778283_20150819.log';
  const parsed = parseLogFileName(path, { envCodes: ['dev', 'nor', 'eme', 'spe', 'mir', 'pro'] });
  const prefix = encoder.prefixFor({
    path,
    dataset: parsed.ok ? parsed.meta.dataset : 'app',
    labels: parsed.ok ? labelsForLogFile(parsed.meta) : {},
    container: { id: 'a1b2c3d4e5f6'.repeat(5) + 'abcd', name: 'aether-1', imageName: 'registry.local/aether:8', imageTag: '8', labels: { 'com.example.team': 'pay' } },
    tags: parsed.ok ? [] : [FILENAME_UNPARSED_TAG],
  });
  const exceptions =
    stage === 'split+join+encode+exceptions' ? new ExceptionInspector({ config: { enabled: true, fingerprint_frames: 5, max_apps: 50, top_per_app: 20, sample_bytes: 4096 } }) : undefined;
  const retained = new Array<Buffer>(RETAINED);
  let lines = 0;
  let events = 0;
  let outBytes = 0;
  let now = Date.now();

  const onEvent = (e: JoinedEvent): void => {
    events++;
    if (stage === 'split+join') return;
    const extra = e.lines > 1 && exceptions !== undefined ? exceptions.inspect('aether', path, e.buf, e.from, e.to, now) : null;
    const out = encoder.encodeLine(prefix, e.buf, e.start, now, e.flags, e.from, e.to, extra);
    outBytes += out.length;
    retained[events % RETAINED] = out;
  };
  const onLine =
    stage === 'split'
      ? (): void => {
          lines++;
        }
      : (buf: Buffer, from: number, to: number, start: number, end: number, truncated: boolean): void => {
          lines++;
          joiner.pushLine(buf, from, to, start, end, truncated, now, onEvent);
        };

  let rssPeak = 0;
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  for (let off = 0; off < data.length; off += CHUNK) {
    now = Date.now(); // per chunk, as a reader would stamp a read
    splitter.push(data.subarray(off, off + CHUNK), off, onLine);
    if ((off & (16 * CHUNK - 1)) === 0) rssPeak = Math.max(rssPeak, process.memoryUsage.rss());
  }
  joiner.flush(onEvent);
  const wallMs = performance.now() - t0;
  const cpu = process.cpuUsage(cpu0);
  return { stage, rssPeak, wallMs, cpuMs: (cpu.user + cpu.system) / 1000, lines, events, outBytes };
}

// ---- main -------------------------------------------------------------------------------
const g0 = performance.now();
const { data, lines, traces } = generate();
const mib = data.length / 1024 / 1024;
console.log(`data: ${mib.toFixed(1)} MiB, ${lines} lines (avg ${(data.length / lines).toFixed(0)} B), ${traces} stack traces; generated in ${((performance.now() - g0) / 1000).toFixed(1)} s`);
console.log(`node ${process.version}, ${ROUNDS} rounds per stage, best round shown (CPU = user+sys of this process)\n`);

const stages: Stage[] = ['split', 'split+join', 'split+join+encode', 'split+encode (multiline off)', 'split+join+encode+exceptions'];
const pad = (s: string, w: number): string => s.padEnd(w);
const rssBase = process.memoryUsage.rss();
console.log(`RSS before the runs: ${(rssBase / 1024 / 1024).toFixed(0)} MiB (the input is in memory)\n`);
console.log(`${pad('stage', 32)} ${pad('MiB/s', 8)} ${pad('lines/s', 11)} ${pad('events', 9)} ${pad('CPU µs/line', 12)} ${pad('out MiB', 8)} RSS peak MiB`);
for (const stage of stages) {
  let best: Result | undefined;
  for (let r = 0; r < ROUNDS; r++) {
    const res = runStage(stage, data);
    if (!best || res.cpuMs < best.cpuMs) best = res;
  }
  const b = best as Result;
  console.log(
    `${pad(stage, 32)} ${pad((mib / (b.cpuMs / 1000)).toFixed(0), 8)} ${pad(Math.round(b.lines / (b.cpuMs / 1000)).toLocaleString('en'), 11)} ${pad(String(b.events), 9)} ${pad(((b.cpuMs * 1000) / b.lines).toFixed(3), 12)} ${pad((b.outBytes / 1024 / 1024).toFixed(0), 8)} ${(b.rssPeak / 1024 / 1024).toFixed(0)}`,
  );
}
const ru = process.resourceUsage();
console.log(`\nprocess peak RSS ${(ru.maxRSS / 1024).toFixed(0)} MiB (includes the ${mib.toFixed(0)} MiB input held in memory); MiB/s and lines/s are per CPU second`);
