// bench/stubs: what the stubs for dockerode's ssh2 and gRPC dependencies save (stubs/README.md).
// Installs the same dockerode with its real dependencies into a temp dir (from the npm registry)
// and loads it the way the agent does, several times each, next to the repository's stubbed
// copy: load time, RSS, V8 heap and external memory (ssh2's WebAssembly). Not a test.
//
//   node bench/stubs.ts [--runs 5]
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { benchArgs } from './args.ts';

const { values } = benchArgs(import.meta.url, { options: { runs: { type: 'string', default: '5' } } });
const RUNS = Number(values.runs);
const version = (JSON.parse(await readFile('node_modules/dockerode/package.json', 'utf8')) as { version: string }).version;

const probe = `
const { createRequire } = require('node:module');
const t0 = performance.now();
const Docker = createRequire(process.argv[1] + '/')('dockerode');
new Docker({ socketPath: '/var/run/docker.sock' });
const loadMs = performance.now() - t0;
globalThis.gc();
setTimeout(() => {
  const m = process.memoryUsage();
  console.log(JSON.stringify({ loadMs, rss: m.rss, heap: m.heapUsed, external: m.external }));
}, 200);`;

interface Sample { loadMs: number; rss: number; heap: number; external: number }

function measure(nodeModules: string): Sample[] {
  return Array.from({ length: RUNS }, () => {
    const r = spawnSync(process.execPath, ['--expose-gc', '-e', probe, nodeModules], { encoding: 'utf8' });
    if (r.status !== 0) throw new Error(r.stderr);
    return JSON.parse(r.stdout) as Sample;
  });
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)] as number;
}

const dir = await mkdtemp(join(tmpdir(), 'dockhand-bench-stubs-'));
try {
  await writeFile(join(dir, 'package.json'), '{"name":"stubs-bench","private":true}');
  console.log(`installing dockerode ${version} with its real dependencies into ${dir} …`);
  execFileSync('npm', ['install', '--no-audit', '--no-fund', '--silent', `dockerode@${version}`], { cwd: dir, stdio: 'inherit' });
  const rows = [
    ['stubs (this repository)', measure(join(process.cwd(), 'node_modules'))],
    ['real ssh2 and gRPC', measure(join(dir, 'node_modules'))],
  ] as const;
  console.log(`\nloading dockerode ${version} and building a client, median of ${RUNS} runs:`);
  console.log('| | load ms | RSS MB | V8 heap MB | external MB |\n| --- | --- | --- | --- | --- |');
  for (const [label, samples] of rows) {
    const mb = (k: 'rss' | 'heap' | 'external'): string => (median(samples.map((s) => s[k])) / 1048576).toFixed(1);
    console.log(`| ${label} | ${median(samples.map((s) => s.loadMs)).toFixed(0)} | ${mb('rss')} | ${mb('heap')} | ${mb('external')} |`);
  }
} finally {
  await rm(dir, { recursive: true, force: true });
}
