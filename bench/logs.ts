// bench/logs: the whole log path, file to Logstash, through the built agent (a separate process,
// run as production runs it) — 20 files x 500k lines of ~200 bytes through the Beats output with
// ACKs to a local receiver, then the same through TCP json_lines; then N idle files watched.
// Prints lines/s, MiB/s, the agent's CPU seconds and peak RSS. Asserts nothing.
//
//   npm run build && node bench/logs.ts [--files 20] [--lines 500000] [--idle-files 5000] [--idle-seconds 60] [--modes beats,tcp] [--profile DIR]
//   node bench/logs.ts --modes tcp --workers 0,1,2 --files 2 --lines 1000000 --idle-files 0   (line workers, one run each)
//   node bench/logs.ts --modes trickle [--trickle-rate 2000] [--trickle-seconds 60] [--trickle-files 20] [--idle-files 0]
//   node bench/logs.ts --modes trickle --trickle-seconds 3600 --rss-every 60 --rest-seconds 300 --idle-files 0   (a soak)
//   FLUENT_BIT=/path/to/fluent-bit node bench/logs.ts --modes tcp,fluent-bit [--trickle-...]   (side by side)
// The fluent-bit mode runs that binary on the same files (tail → tcp json_lines, multiline off,
// no offsets database: as the agent's tcp mode) and prints its figures and the agent's ratios to
// them; with --modes trickle,fluent-bit-trickle the same for the trickle case.
// The trickle mode writes each line with its own write(2), as log4j's immediate flush does, at a
// steady rate over many files — what most hosts see — and prints the agent's CPU per line.
import { spawn } from 'node:child_process';
import { closeSync, openSync, readFileSync, writeFileSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { mkdir, rm } from 'node:fs/promises';
import { badArgument, benchArgs } from './args.ts';
import { BeatsReceiver } from '../test/helpers/beats-receiver.ts';
import { JsonLinesReceiver } from '../test/helpers/json-lines-receiver.ts';
import { lineText, writeLogFiles } from '../test/helpers/log-files.ts';
import { logsSetup, startLogsAgent } from '../test/helpers/logs-agent.ts';
import type { LogsSetup } from '../test/helpers/logs-agent.ts';
import { waitFor } from '../test/helpers/wait.ts';
import { spring } from '../test/helpers/exception-traces.ts';
import { procFigures } from './proc-figures.ts';
import { LineCounterProcess } from './line-counter.ts';

const { values } = benchArgs(import.meta.url, {
  options: {
    files: { type: 'string', default: '20' },
    lines: { type: 'string', default: '500000' },
    'idle-files': { type: 'string', default: '5000' },
    'idle-seconds': { type: 'string', default: '60' },
    modes: { type: 'string', default: 'beats,tcp' },
    // a directory: the agent writes a V8 CPU profile there (node --cpu-prof), one per run
    profile: { type: 'string' },
    // extra environment for the agent, NAME=value (repeatable), e.g. UV_THREADPOOL_SIZE=2
    'agent-env': { type: 'string', multiple: true, default: [] },
    // line workers (logs.workers): each beats/tcp run once per count given, e.g. 0,1,2; unset = the agent's default
    workers: { type: 'string', default: '' },
    // the trickle mode: lines per second over all files, for how long, into how many files
    'trickle-rate': { type: 'string', default: '2000' },
    'trickle-seconds': { type: 'string', default: '60' },
    'trickle-files': { type: 'string', default: '20' },
    // a soak: print RSS and CPU every this many seconds while writing, then idle this long after
    'rss-every': { type: 'string', default: '0' },
    'rest-seconds': { type: 'string', default: '0' },
    // the tcp and fluent-bit modes' receiver: python (bench/line-counter.py, the cheapest) or node (test/helpers' JsonLinesReceiver)
    receiver: { type: 'string', default: 'python' },
    // what the files hold: plain 200-byte lines, or java: every 10th event a Spring stack trace
    // (12 lines, joined by the default multiline pattern, parsed by the exception summary)
    content: { type: 'string', default: 'plain' },
  },
});
const PROFILE_ENV: Record<string, string> = {
  ...(values.profile ? { NODE_OPTIONS: `--cpu-prof --cpu-prof-dir=${values.profile}` } : {}),
  ...Object.fromEntries(values['agent-env'].map((kv) => [kv.slice(0, kv.indexOf('=')), kv.slice(kv.indexOf('=') + 1)])),
};
const FILES = Number(values.files);
const LINES = Number(values.lines);
const LINE_BYTES = 200;
const JAVA = values.content === 'java';
/** Events per file: one per line, or for java content one per block of 9 lines and a trace. */
const EVENTS_PER_FILE = JAVA ? Math.floor(LINES / 10) * 10 : LINES;

/** java content: blocks of 9 plain lines and one 12-line stack trace (one event each). */
function writeJavaFiles(dir: string): void {
  for (let f = 0; f < FILES; f++) {
    const parts: string[] = [];
    for (let b = 0; b < EVENTS_PER_FILE / 10; b++) {
      for (let l = 0; l < 9; l++) parts.push(`${lineText(f, b * 10 + l, LINE_BYTES)}\n`);
      parts.push(`${spring({ line: b % 7, n: b })}\n`);
    }
    writeFileSync(join(dir, `java_app${f}_nor_8_778283_20261201.log`), parts.join(''));
  }
}

/** The runs of a beats/tcp mode: one per --workers count, labelled `tcp/w1`; one with the agent's default without it. */
const WORKER_RUNS: (number | undefined)[] = values.workers === '' ? [undefined] : values.workers.split(',').map((w) => {
  const n = Number(w);
  if (!Number.isInteger(n) || n < 0 || n > 16) badArgument(import.meta.url, `--workers takes counts from 0 to 16, got ${w}`);
  return n;
});

async function throughput(setup: LogsSetup, mode: string, workers: number | undefined): Promise<void> {
  const label = workers === undefined ? mode : `${mode}/w${workers}`;
  const total = FILES * EVENTS_PER_FILE;
  // With multiline on (java content), each file's last event waits for the multiline timeout:
  // the rate is taken up to the one before it.
  const timed = JAVA ? total - FILES : total;
  let count: () => number;
  let address: string;
  let close: () => Promise<void>;
  let receiverPid = 0;
  if (mode === 'beats') {
    const r = await BeatsReceiver.start({ record: false });
    count = () => r.eventCount;
    address = r.address;
    close = () => r.close();
  } else if (values.receiver === 'python') {
    const r = await LineCounterProcess.start();
    count = () => r.lineCount;
    address = r.address;
    close = () => r.close();
    receiverPid = r.pid;
  } else {
    const r = await JsonLinesReceiver.start({ record: false });
    count = () => r.lineCount;
    address = r.address;
    close = () => r.close();
  }
  // Multiline off, as in the fluent-bit mode: with it on, each file's last line waits for the
  // multiline timeout and the next sweep, which made the wall time (to the very last line) jump by up to a second.
  const agent = await startLogsAgent(setup, address, { outputType: mode === 'tcp' ? 'tcp' : 'beats', env: { ...(JAVA ? {} : { DOCKHAND_LOGS__MULTILINE__PATTERN: '' }), ...(workers === undefined ? {} : { DOCKHAND_LOGS__WORKERS: String(workers) }), ...PROFILE_ENV } });
  const pid = agent.agent.child.pid as number;
  const t0 = performance.now();
  const cpu0 = procFigures(pid).cpuS;
  const own0 = process.cpuUsage();
  const receiverCpu0 = receiverPid ? procFigures(receiverPid).cpuS : 0;
  let peak = 0;
  // What the resident memory is made of: anonymous and file-backed from /proc at the RSS peak
  // (read here, at no cost to the agent); the V8 heap from /metrics once, after the measured run.
  // Scraping /metrics at every new peak (9-12 times a run) cost the agent ~3 % more CPU per line
  // (medians of four alternating runs, 1.43 against 1.39 µs), which Fluent Bit's side never paid.
  let atPeak = '';
  await waitFor(`${total} events`, () => {
    const rss = procFigures(pid).rssMb;
    if (rss > peak) {
      peak = rss;
      try {
        const rollup = readFileSync(`/proc/${pid}/smaps_rollup`, 'utf8');
        const kb = (k: string): string => (Number(new RegExp(`^${k}:\\s+(\\d+)`, 'm').exec(rollup)?.[1] ?? NaN) / 1024).toFixed(0);
        atPeak = `at ${rss.toFixed(0)} MB RSS (anonymous ${kb('Anonymous')} MB, file-backed ${kb('Rss')}−${kb('Anonymous')})`;
      } catch {
        // the agent exited; the run fails below
      }
    }
    return count() >= timed;
  }, 900_000, 100);
  const wallS = (performance.now() - t0) / 1000;
  const fig = procFigures(pid);
  const mib = (total * (LINE_BYTES + 1)) / 1024 / 1024;
  const what = JAVA ? `events (${timed} timed; every 10th a 12-line stack trace)` : `lines (${mib.toFixed(0)} MiB of files)`;
  console.log(
    `${label.padEnd(5)}: ${total} ${what} in ${wallS.toFixed(1)} s = ${(timed / wallS / 1000).toFixed(0)}k ${JAVA ? 'events' : 'lines'}/s, ${(mib / wallS).toFixed(1)} MiB/s; ` +
      `agent CPU ${(fig.cpuS - cpu0).toFixed(1)} s (${(((fig.cpuS - cpu0) * 1e6) / timed).toFixed(2)} µs/${JAVA ? 'event' : 'line'}, ${((fig.cpuS - cpu0) / wallS * 100).toFixed(0)} % of a core), peak RSS ${Math.max(peak, fig.hwmMb).toFixed(0)} MB`,
  );
  const own = process.cpuUsage(own0);
  const receiverS = receiverPid ? procFigures(receiverPid).cpuS - receiverCpu0 : (own.user + own.system) / 1e6;
  const text = await (await fetch(`http://127.0.0.1:${agent.port}/metrics`)).text().catch(() => '');
  const mb = (name: string): string => (Number(new RegExp(`^${name} (\\S+)`, 'm').exec(text)?.[1] ?? NaN) / 1e6).toFixed(0);
  const breakdown = `${atPeak}; V8 heap after the run ${mb('dockhand_nodejs_heap_size_total_bytes')} MB (used ${mb('dockhand_nodejs_heap_size_used_bytes')}), external ${mb('dockhand_nodejs_external_memory_bytes')} MB`;
  console.log(`       memory ${breakdown}`);
  console.log(`       receiver (${receiverPid ? 'line-counter.py' : 'this process'}) CPU ${receiverS.toFixed(1)} s, ${((receiverS / wallS) * 100).toFixed(0)} % of a core: the machine's cores are shared by the agent and its receiver`);
  results.set(label, { linesPerS: timed / wallS, cpuUsPerLine: ((fig.cpuS - cpu0) * 1e6) / timed, peakRssMb: Math.max(peak, fig.hwmMb) });
  await agent.stop();
  await close();
}

interface Figures { linesPerS: number; cpuUsPerLine: number; peakRssMb: number }
/** Figures per mode, for the ratios to Fluent Bit. */
const results = new Map<string, Figures>();

/** Fluent Bit (the binary in $FLUENT_BIT) tailing `paths` into a counting TCP json_lines receiver. */
async function startFluentBit(dir: string, paths: string): Promise<{ pid: number; receiver: { lineCount: number; address: string; close(): Promise<void> }; stop: () => Promise<void> }> {
  const bin = process.env.FLUENT_BIT;
  if (!bin) throw new Error('the fluent-bit modes need FLUENT_BIT=/path/to/fluent-bit');
  // The same receiver as the agent's tcp mode: python for throughput, node for the trickle (as the agent's trickle mode).
  const receiver = values.receiver === 'python' && !paths.includes('trickle') ? await LineCounterProcess.start() : await JsonLinesReceiver.start({ record: false });
  const [host, port] = receiver.address.split(':');
  const conf = join(dir, 'fluent-bit.conf');
  writeFileSync(conf, `[SERVICE]\n    Flush 1\n    Log_Level warn\n    storage.path ${join(dir, 'fb-storage')}\n[INPUT]\n    Name tail\n    Path ${paths}\n    Read_from_Head On\n    Refresh_Interval 1\n    Buffer_Chunk_Size 256k\n    Buffer_Max_Size 1M\n    Skip_Long_Lines On\n[OUTPUT]\n    Name tcp\n    Match *\n    Host ${host}\n    Port ${port}\n    Format json_lines\n`);
  const child = spawn(bin, ['-q', '-c', conf], { stdio: ['ignore', 'inherit', 'inherit'] });
  await new Promise((res) => setTimeout(res, 300));
  if (child.exitCode !== null || child.pid === undefined) throw new Error(`fluent-bit exited with ${child.exitCode}`);
  const exited = new Promise((res) => child.on('exit', res));
  return { pid: child.pid, receiver, stop: async () => { child.kill('SIGTERM'); await exited; await receiver.close(); } };
}

function ratios(ours: string, theirs: string): void {
  const a = results.get(ours);
  const b = results.get(theirs);
  if (!a || !b) return;
  console.log(`ratios ${ours} / ${theirs}: lines/s ${(a.linesPerS / b.linesPerS).toFixed(2)}x, CPU per line ${(a.cpuUsPerLine / b.cpuUsPerLine).toFixed(2)}x, peak RSS ${(a.peakRssMb / b.peakRssMb).toFixed(2)}x`);
}

async function fluentBitThroughput(setup: LogsSetup): Promise<void> {
  const total = FILES * LINES;
  const fb = await startFluentBit(setup.dir, join(setup.logs, '*.log'));
  const t0 = performance.now();
  let peak = 0;
  await waitFor(`${total} lines from fluent-bit`, () => {
    peak = Math.max(peak, procFigures(fb.pid).rssMb);
    return fb.receiver.lineCount >= total;
  }, 900_000, 100);
  const wallS = (performance.now() - t0) / 1000;
  const fig = procFigures(fb.pid);
  console.log(`fluent-bit: ${total} lines in ${wallS.toFixed(1)} s = ${(total / wallS / 1000).toFixed(0)}k lines/s; CPU ${fig.cpuS.toFixed(1)} s (${((fig.cpuS * 1e6) / total).toFixed(2)} µs/line), peak RSS ${Math.max(peak, fig.hwmMb).toFixed(0)} MB`);
  results.set('fluent-bit', { linesPerS: total / wallS, cpuUsPerLine: (fig.cpuS * 1e6) / total, peakRssMb: Math.max(peak, fig.hwmMb) });
  await fb.stop();
  for (const label of results.keys()) if (label === 'tcp' || label.startsWith('tcp/')) ratios(label, 'fluent-bit');
}

const setup = await logsSetup();
try {
  if (values.modes.split(',').some((m) => !m.includes('trickle'))) {
    console.log(`writing ${FILES} files x ${LINES} lines of ${LINE_BYTES} B…`);
    const w0 = performance.now();
    if (JAVA) writeJavaFiles(setup.logs);
    else await writeLogFiles(setup.logs, FILES, LINES, LINE_BYTES);
    console.log(`  written in ${((performance.now() - w0) / 1000).toFixed(1)} s`);
  }
  for (const mode of values.modes.split(',')) {
    await rm(setup.state, { recursive: true, force: true }); // every run reads everything again
    if (mode === 'trickle' || mode === 'fluent-bit-trickle') {
      await trickle(setup, mode);
      continue;
    }
    if (mode === 'fluent-bit') {
      if (JAVA) throw new Error('the fluent-bit mode reads plain lines (--content plain)');
      await fluentBitThroughput(setup);
      continue;
    }
    if (mode !== 'beats' && mode !== 'tcp') throw new Error(`unknown mode ${mode}`);
    for (const workers of WORKER_RUNS) {
      await rm(setup.state, { recursive: true, force: true });
      await throughput(setup, mode, workers);
    }
  }
  await rm(setup.logs, { recursive: true, force: true });
  await mkdir(setup.tracing, { recursive: true });
  if (Number(values['idle-files']) > 0) await idle(Number(values['idle-files']), Number(values['idle-seconds']));
} finally {
  await setup.cleanup();
}

async function idle(files: number, seconds: number): Promise<void> {
  await rm(setup.state, { recursive: true, force: true });
  await writeLogFiles(setup.logs, files, 5, 120);
  const r = await BeatsReceiver.start({ record: false });
  const agent = await startLogsAgent(setup, r.address, { env: { DOCKHAND_LOGS__RESCAN_INTERVAL: '10s', DOCKHAND_LOGS__CLOSE_INACTIVE: '5m' } });
  await waitFor('idle files shipped', () => r.eventCount >= files * 5, 300_000, 200);
  await new Promise((res) => setTimeout(res, 5000));
  const pid = agent.agent.child.pid as number;
  const a = procFigures(pid);
  const t0 = performance.now();
  let peak = 0;
  while (performance.now() - t0 < seconds * 1000) {
    await new Promise((res) => setTimeout(res, 1000));
    peak = Math.max(peak, procFigures(pid).rssMb);
  }
  const b = procFigures(pid);
  const wall = (performance.now() - t0) / 1000;
  const metrics = await (await fetch(`http://127.0.0.1:${agent.port}/metrics`)).text();
  const open = /^dockhand_log_files_open (\d+)/m.exec(metrics)?.[1];
  const watches = /^dockhand_log_watched_directories (\d+)/m.exec(metrics)?.[1];
  console.log(`idle : ${files} files followed (${open} open, ${watches} directory watches), ${wall.toFixed(0)} s: CPU ${(((b.cpuS - a.cpuS) / wall) * 100).toFixed(2)} % of a core (rescan every 10 s), RSS ${b.rssMb.toFixed(0)} MB (peak ${peak.toFixed(0)} MB)`);
  await agent.stop();
  await r.close();
}

async function heapUsedMb(port: number): Promise<string> {
  const text = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text().catch(() => '');
  return (Number(/^dockhand_nodejs_heap_size_used_bytes (\S+)/m.exec(text)?.[1] ?? NaN) / 1e6).toFixed(1);
}

/** Lines written one write(2) each, spread over files, at a steady total rate; TCP json_lines to a counting receiver. */
async function trickle(setup: LogsSetup, mode: string): Promise<void> {
  const rate = Number(values['trickle-rate']);
  const seconds = Number(values['trickle-seconds']);
  const files = Number(values['trickle-files']);
  const dir = join(setup.logs, 'trickle');
  await rm(dir, { recursive: true, force: true }); // each run starts from empty files
  await mkdir(dir, { recursive: true });
  const fds = Array.from({ length: files }, (_, i) => openSync(join(dir, `trickle_app${i}_nor_8_778283_20261201.log`), 'a'));
  let r: { lineCount: number; close(): Promise<void> };
  let pid: number;
  let port = 0; // the agent's API (for its heap figures); none for fluent-bit
  let stop: () => Promise<unknown>;
  if (mode === 'trickle') {
    const receiver = await JsonLinesReceiver.start({ record: false });
    r = receiver;
    const agent = await startLogsAgent({ ...setup, logs: dir }, receiver.address, { outputType: 'tcp', env: PROFILE_ENV });
    pid = agent.agent.child.pid as number;
    port = agent.port;
    stop = async () => { await agent.stop(); await r.close(); };
  } else {
    const fb = await startFluentBit(setup.dir, join(dir, '*.log'));
    r = fb.receiver;
    pid = fb.pid;
    stop = fb.stop;
  }
  await new Promise((res) => setTimeout(res, 2000)); // settled after start
  const a = procFigures(pid);
  const rss0 = a.rssMb;
  const t0 = performance.now();
  let written = 0;
  let peak = 0;
  const tickMs = 10;
  const every = Number(values['rss-every']) * 1000;
  let nextReport = every;
  while (performance.now() - t0 < seconds * 1000) {
    if (every > 0 && performance.now() - t0 >= nextReport) {
      const f = procFigures(pid);
      const heap = port ? await heapUsedMb(port) : '-';
      console.log(`  ${(nextReport / 60_000).toFixed(1)} min: ${written} lines written, ${r.lineCount} delivered, RSS ${f.rssMb.toFixed(1)} MB (V8 heap used ${heap} MB), CPU so far ${(((f.cpuS - a.cpuS) * 1e6) / Math.max(written, 1)).toFixed(1)} µs/line`);
      nextReport += every;
    }
    const due = Math.floor(((performance.now() - t0) / 1000) * rate);
    while (written < due) {
      writeSync(fds[written % files] as number, `${lineText(written % files, written, LINE_BYTES)}\n`);
      written++;
    }
    if (written % (rate * 5) < rate / 100) peak = Math.max(peak, procFigures(pid).rssMb);
    await new Promise((res) => setTimeout(res, tickMs));
  }
  const wall = (performance.now() - t0) / 1000;
  await waitFor(`${written} lines delivered`, () => r.lineCount >= written, 60_000, 50);
  const b = procFigures(pid);
  for (const fd of fds) closeSync(fd);
  const cpuS = b.cpuS - a.cpuS;
  const rest = Number(values['rest-seconds']);
  for (let s = 0; s < rest; s += 60) {
    await new Promise((res) => setTimeout(res, Math.min(60, rest - s) * 1000));
    const f = procFigures(pid);
    console.log(`  resting ${Math.min(s + 60, rest)} s after the last write: RSS ${f.rssMb.toFixed(1)} MB (V8 heap used ${port ? await heapUsedMb(port) : '-'} MB), CPU ${(((f.cpuS - b.cpuS) / Math.min(s + 60, rest)) * 100).toFixed(2)} % of a core`);
  }
  results.set(mode, { linesPerS: written / wall, cpuUsPerLine: (cpuS * 1e6) / written, peakRssMb: Math.max(peak, b.rssMb) });
  console.log(
    `${mode}: ${written} lines in ${wall.toFixed(0)} s (${(written / wall).toFixed(0)} lines/s, one write(2) each, ${files} files): CPU ${((cpuS * 1e6) / written).toFixed(1)} µs/line, ` +
      `${((cpuS / wall) * 100).toFixed(1)} % of a core; RSS ${rss0.toFixed(0)} → ${b.rssMb.toFixed(0)} MB (peak ${Math.max(peak, b.rssMb).toFixed(0)} MB)`,
  );
  await stop();
  ratios('trickle', 'fluent-bit-trickle');
}
