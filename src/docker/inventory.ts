/**
 * The live set of containers on this host. A plain map with lookups by id, id prefix and name;
 * the DockerWatcher keeps it current from events and reconciliation.
 */
import { byCodeUnit } from '../core/compare.ts';
import { DockhandError } from '../core/errors.ts';
import type { ContainerRecord, ContainerState } from './types.ts';

export interface ReconcileResult {
  added: string[];
  removed: string[];
  updated: string[];
}

/** How long a removed container is remembered, so late log lines still get its metadata. */
export const REMEMBER_REMOVED_MS = 10 * 60_000;

export class ContainerInventory {
  readonly #byId = new Map<string, ContainerRecord>();
  readonly #removed = new Map<string, { record: ContainerRecord; at: number }>();
  #version = 0;
  /** The agent's own container when it runs as one (src/docker/self.ts): never probed, never restarted. */
  selfId: string | undefined;

  /** Changes with every mutation: consumers cache lookups and recompute when it moves. */
  get version(): number {
    return this.#version;
  }

  get size(): number {
    return this.#byId.size;
  }

  list(): ContainerRecord[] {
    return [...this.#byId.values()].sort((a, b) => byCodeUnit(a.name, b.name));
  }

  byId(id: string): ContainerRecord | undefined {
    return this.#byId.get(id);
  }

  ids(): string[] {
    return [...this.#byId.keys()];
  }

  /**
   * By full id, name (with or without Docker's leading slash), or unique id prefix of at least
   * 4 characters. An ambiguous prefix is the caller's mistake: BAD_REQUEST.
   */
  find(ref: string): ContainerRecord | undefined {
    const exact = this.#byId.get(ref);
    if (exact) return exact;
    const name = ref.replace(/^\//, '');
    for (const r of this.#byId.values()) if (r.name === name) return r;
    if (ref.length < 4 || !/^[0-9a-f]+$/.test(ref)) return undefined;
    let found: ContainerRecord | undefined;
    for (const r of this.#byId.values()) {
      if (!r.id.startsWith(ref)) continue;
      if (found) throw new DockhandError('BAD_REQUEST', `container id prefix "${ref}" is ambiguous`);
      found = r;
    }
    return found;
  }

  upsert(record: ContainerRecord): void {
    this.#byId.set(record.id, record);
    this.#removed.delete(record.id);
    this.#version++;
  }

  /** Applies a partial change to a known container; false when unknown. */
  patch(id: string, change: Partial<ContainerRecord>): boolean {
    const r = this.#byId.get(id);
    if (!r) return false;
    this.#byId.set(id, { ...r, ...change });
    this.#version++;
    return true;
  }

  remove(id: string): boolean {
    const r = this.#byId.get(id);
    if (!r) return false;
    this.#byId.delete(id);
    this.#removed.set(id, { record: r, at: Date.now() });
    this.#version++;
    return true;
  }

  /**
   * The container a log file's `<hostname>` token belongs to: a live container with that
   * hostname, else one whose id starts with it (Docker's default hostname is the id's first 12
   * hex digits), else one removed in the last REMEMBER_REMOVED_MS.
   */
  findByHostname(hostname: string, now = Date.now()): ContainerRecord | undefined {
    if (!hostname) return undefined;
    const idPrefix = /^[0-9a-f]{12,64}$/.test(hostname);
    const match = (r: ContainerRecord): boolean => r.hostname === hostname || (idPrefix && r.id.startsWith(hostname));
    for (const r of this.#byId.values()) if (match(r)) return r;
    let found: ContainerRecord | undefined;
    for (const [id, { record, at }] of this.#removed) {
      if (now - at > REMEMBER_REMOVED_MS) this.#removed.delete(id);
      else if (match(record)) found = record;
    }
    return found;
  }

  /** Makes the inventory exactly `records` (a fresh listing), reporting what changed. */
  replaceAll(records: readonly ContainerRecord[]): ReconcileResult {
    const result: ReconcileResult = { added: [], removed: [], updated: [] };
    const seen = new Set<string>();
    for (const r of records) {
      seen.add(r.id);
      (this.#byId.has(r.id) ? result.updated : result.added).push(r.id);
      this.#byId.set(r.id, r);
    }
    for (const id of [...this.#byId.keys()]) {
      if (!seen.has(id)) {
        this.remove(id);
        result.removed.push(id);
      }
    }
    this.#version++;
    return result;
  }

  countByState(): Map<ContainerState, number> {
    const counts = new Map<ContainerState, number>();
    for (const r of this.#byId.values()) counts.set(r.state, (counts.get(r.state) ?? 0) + 1);
    return counts;
  }
}
