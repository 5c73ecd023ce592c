/**
 * Log files for tests and benchmarks, written the way applications write them: names that
 * follow the convention, lines that say which file and which line they are, so a receiver can
 * check that every line arrived exactly once (or at least once) and in order per file.
 */
import { open } from 'node:fs/promises';
import { join } from 'node:path';
import type { LogFileMeta } from '../../src/logs/filename.ts';

/** The name's parts as the parser returns them (src/logs/filename.ts), and where the file goes. */
export type LogFileSpec = Omit<LogFileMeta, 'dataset'> & { dir: string };

export function logFileName(s: Omit<LogFileSpec, 'dir'>): string {
  return `${s.logType}_${s.app}_${s.env}_${s.imageTag}_${s.hostname}_${s.date}.log`;
}

/** `f<file>-l<line> ` then filler up to about `lineBytes` (ASCII, no escapes needed). */
export function lineText(file: number, line: number, lineBytes: number): string {
  const head = `f${file}-l${line} `;
  const filler = 'INFO com.example.Service - request served in 12 ms status=200 path=/api/v1/items?page=3 user=alice ';
  let s = head;
  while (s.length < lineBytes) s += filler;
  return s.slice(0, lineBytes);
}

/** Parses `f<file>-l<line>` back out of a message; undefined for other messages. */
export function lineId(message: string): { file: number; line: number } | undefined {
  const m = /^f(\d+)-l(\d+) /.exec(message);
  return m ? { file: Number(m[1]), line: Number(m[2]) } : undefined;
}

/** Writes lines [from, to) of file `file` in large appends. */
export async function appendLines(path: string, file: number, from: number, to: number, lineBytes: number): Promise<void> {
  const handle = await open(path, 'a');
  try {
    const perWrite = Math.max(1, Math.floor((1024 * 1024) / (lineBytes + 1)));
    for (let start = from; start < to; start += perWrite) {
      const end = Math.min(to, start + perWrite);
      let chunk = '';
      for (let l = start; l < end; l++) chunk += `${lineText(file, l, lineBytes)}\n`;
      await handle.write(chunk);
    }
  } finally {
    await handle.close();
  }
}

/** Creates `count` files named by the convention (app `app<i>`), each with `lines` lines. */
export async function writeLogFiles(dir: string, count: number, lines: number, lineBytes = 200, spec: Partial<Omit<LogFileSpec, 'dir'>> = {}): Promise<string[]> {
  const paths: string[] = [];
  for (let i = 0; i < count; i++) {
    const path = join(dir, logFileName({ logType: 'weberror', app: `app${i}`, env: 'nor', imageTag: '8', hostname: '778283', date: '20261122', ...spec }));
    await appendLines(path, i, 0, lines, lineBytes);
    paths.push(path);
  }
  return paths;
}
