/**
 * An application writing its log file line by line while a test runs (5 lines every 20 ms), and
 * the check that the receiver got each of its lines exactly once: what the upgrade and Ansible
 * tests prove across a restart of the agent.
 */
import assert from 'node:assert/strict';
import { appendFileSync, chmodSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import type { ReceivedEvent } from './beats-receiver.ts';
import { lineId, lineText, logFileName } from './log-files.ts';

export class GrowingLog {
  readonly path: string;
  written = 0;
  readonly #timer: NodeJS.Timeout;

  constructor(dir: string, app: string) {
    this.path = path.join(dir, logFileName({ logType: 'app', app, env: 'dev', imageTag: '1', hostname: 'host', date: '20261201' }));
    writeFileSync(this.path, '');
    chmodSync(this.path, 0o644);
    this.#timer = setInterval(() => {
      let chunk = '';
      for (let i = 0; i < 5; i++) chunk += `${lineText(1, this.written++, 120)}\n`;
      appendFileSync(this.path, chunk);
    }, 20);
  }

  stop(): number {
    clearInterval(this.#timer);
    return this.written;
  }
}

/** Lines of `log` the receiver got, by line number. */
export function receivedLines(events: readonly ReceivedEvent[], log: GrowingLog): number[] {
  return events.filter((e) => (e.json.log as { file?: { path?: string } } | undefined)?.file?.path?.endsWith(path.basename(log.path)))
    .map((e) => lineId(String(e.json.message))?.line ?? -1);
}

/** Every line 0..written-1 exactly once. */
export function assertExactlyOnce(lines: number[], written: number): void {
  const seen = new Map<number, number>();
  for (const l of lines) seen.set(l, (seen.get(l) ?? 0) + 1);
  const lost = Array.from({ length: written }, (_, i) => i).filter((i) => !seen.has(i));
  const doubled = [...seen].filter(([, n]) => n > 1).map(([l]) => l);
  assert.deepEqual({ lost: lost.slice(0, 20), doubled: doubled.slice(0, 20), lines: lines.length }, { lost: [], doubled: [], lines: written });
}
