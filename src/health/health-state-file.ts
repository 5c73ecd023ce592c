/**
 * What the restart logic must remember across an agent restart or a host reboot, in
 * `<state_dir>/health.json`: which containers were running when the agent last looked, which
 * were stopped on purpose (Docker keeps its own "manually stopped" flag but does not expose it),
 * and each one's recent restarts and crash-loop mark — so a reboot neither forgets a crash loop
 * nor resurrects a container an operator had stopped.
 *
 * Written like every checkpoint here (core/state-file.ts, Vector's checkpointer): JSON with a
 * version, temp file, fsync, rename, fsync of the directory. A missing file is a first start; an unreadable or
 * corrupt one is reported and ignored (the agent then acts as on a first start: conservatively).
 */
import { readFile } from 'node:fs/promises';
import { errorMessage, systemCode } from '../core/errors.ts';
import type { AtomicStateFile } from '../core/state-file.ts';

export interface PersistedContainer {
  name: string;
  running: boolean;
  stoppedOnPurpose: boolean;
  crashLooping: boolean;
  restarts: number[];
  attempt: number;
}

export interface PersistedHealthState {
  version: 1;
  /** Unix ms of the write. Earlier than the host's boot time = the host rebooted since. */
  savedAt: number;
  containers: Record<string, PersistedContainer>;
}

export type LoadResult = { state: PersistedHealthState | null; problem?: string };

export async function loadHealthState(file: string): Promise<LoadResult> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (err) {
    if (systemCode(err) === 'ENOENT') return { state: null };
    return { state: null, problem: `cannot read ${file}: ${systemCode(err) ?? errorMessage(err)}` };
  }
  try {
    const v = JSON.parse(text) as Partial<PersistedHealthState>;
    if (v.version !== 1 || typeof v.savedAt !== 'number' || typeof v.containers !== 'object' || v.containers === null) {
      return { state: null, problem: `${file}: not a version 1 health state file` };
    }
    const containers: Record<string, PersistedContainer> = {};
    for (const [id, c] of Object.entries(v.containers)) {
      if (!/^[0-9a-f]{12,64}$/.test(id) || typeof c !== 'object' || c === null) continue;
      containers[id] = {
        name: typeof c.name === 'string' ? c.name : '',
        running: c.running === true,
        stoppedOnPurpose: c.stoppedOnPurpose === true,
        crashLooping: c.crashLooping === true,
        restarts: Array.isArray(c.restarts) ? c.restarts.filter((t): t is number => typeof t === 'number').slice(-1000) : [],
        attempt: Number.isInteger(c.attempt) && c.attempt >= 0 ? Math.min(c.attempt, 64) : 0,
      };
    }
    return { state: { version: 1, savedAt: v.savedAt, containers } };
  } catch (err) {
    return { state: null, problem: `${file}: ${errorMessage(err)}` };
  }
}

/** Writes the state through `file` (atomic, counted and logged on failure); false when it could not. */
export function saveHealthState(file: AtomicStateFile, state: PersistedHealthState): Promise<boolean> {
  return file.write(JSON.stringify(state));
}
