/**
 * What the benchmarks read about the agent process from /proc, and the clean-up they share: one
 * place for the /proc/<pid>/stat field numbers and the idle-window sampling loop.
 */
import { readFileSync, readdirSync } from 'node:fs';
import { docker } from '../test/helpers/docker-engine.ts';

/** USER_HZ on Linux: the unit of utime/stime in /proc/<pid>/stat. */
export const CLK_TCK = 100;

export interface ProcFigures {
  /** utime + stime, seconds. */
  cpuS: number;
  /** utime + stime of the child processes the agent waited for, seconds (systeminformation spawned df until it was replaced). */
  childCpuS: number;
  rssMb: number;
  /** Peak RSS since the process started (VmHWM). */
  hwmMb: number;
}

export function procFigures(pid: number): ProcFigures {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  // fields after the command name, which may hold spaces: state is field 3, utime 14 (index 11 here)
  const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const mb = (key: string): number => Number(new RegExp(`${key}:\\s+(\\d+)`).exec(status)?.[1]) / 1024;
  return {
    cpuS: (Number(f[11]) + Number(f[12])) / CLK_TCK,
    childCpuS: (Number(f[13]) + Number(f[14])) / CLK_TCK,
    rssMb: mb('VmRSS'),
    hwmMb: mb('VmHWM'),
  };
}

/**
 * Time on a CPU and times scheduled, summed over the threads of `pid` (/proc/<pid>/task/<tid>/schedstat:
 * nanoseconds the scheduler ran it, and how many times). Exact where utime/stime are not: those
 * are charged by the timer tick, so a process that wakes briefly many times a second (an idle
 * agent) is charged by where ticks happen to fall; and the run count says how often it woke.
 */
export function schedFigures(pid: number): { onCpuS: number; runs: number } {
  let ns = 0;
  let runs = 0;
  for (const tid of readdirSync(`/proc/${pid}/task`)) {
    try {
      const [onCpu, , count] = readFileSync(`/proc/${pid}/task/${tid}/schedstat`, 'utf8').trim().split(' ');
      ns += Number(onCpu);
      runs += Number(count);
    } catch {
      // the thread ended meanwhile
    }
  }
  return { onCpuS: ns / 1e9, runs };
}

export interface WindowFigures {
  /** On-CPU seconds and times scheduled over the window (schedFigures). */
  onCpuS: number;
  runs: number;
  cpuS: number;
  childCpuS: number;
  wallS: number;
  rssAvgMb: number;
  rssPeakMb: number;
}

/**
 * CPU and RSS of `pid` over `seconds`, RSS sampled once a second; `each` (if given) runs at every
 * sample, e.g. a scrape the measurement should include.
 */
export async function measureWindow(pid: number, seconds: number, each?: (elapsedS: number) => Promise<void>): Promise<WindowFigures> {
  const a = procFigures(pid);
  const sa = schedFigures(pid);
  const w0 = performance.now();
  let peak = 0;
  let sum = 0;
  let samples = 0;
  while (performance.now() - w0 < seconds * 1000) {
    await each?.((performance.now() - w0) / 1000);
    await new Promise((r) => setTimeout(r, 1000));
    const rss = procFigures(pid).rssMb;
    peak = Math.max(peak, rss);
    sum += rss;
    samples++;
  }
  const b = procFigures(pid);
  const sb = schedFigures(pid);
  return { onCpuS: sb.onCpuS - sa.onCpuS, runs: sb.runs - sa.runs, cpuS: b.cpuS - a.cpuS, childCpuS: b.childCpuS - a.childCpuS, wallS: (performance.now() - w0) / 1000, rssAvgMb: sum / Math.max(1, samples), rssPeakMb: peak };
}

/** Removes the containers labelled `label` in small batches, retrying, and says so if any are left. */
export async function removeLabelledContainers(host: string, label: string): Promise<void> {
  console.log('removing containers…');
  const list = async (): Promise<string[]> => (await docker(host, ['ps', '-aq', '--filter', `label=${label}`], { allowFail: true, timeoutMs: 60_000 })).stdout.split('\n').filter(Boolean);
  for (let attempt = 0; attempt < 3; attempt++) {
    const ids = await list();
    if (ids.length === 0) return;
    for (let i = 0; i < ids.length; i += 20) await docker(host, ['rm', '-f', ...ids.slice(i, i + 20)], { allowFail: true, timeoutMs: 120_000 });
  }
  const left = await list();
  if (left.length > 0) console.log(`WARNING: ${left.length} containers labelled ${label} are left on ${host}`);
}
