/**
 * The local exception summary behind GET /v1/exceptions: per application, the most frequent
 * fingerprints, kept with the space-saving algorithm (Metwally, Agrawal, El Abbadi 2005) so memory
 * is bounded whatever the number of distinct exceptions:
 *
 * - at most `maxApps` applications by name; the exceptions of any further application are counted
 *   under `other` (the same fold as the metric's `app` label),
 * - per application at most `topPerApp` fingerprints. When a new fingerprint arrives and the table
 *   is full, the entry with the smallest count is replaced; the newcomer inherits that count + 1
 *   and records it as `countError` — its true count is between `count − countError` and `count`.
 *   Any fingerprint seen more than total/topPerApp times is guaranteed to be in the table.
 * - per entry: one sample trace (the latest, cut at `sampleBytes`), the latest message, up to
 *   MAX_SOURCES files (`sources`, their paths) and MAX_SOURCES containers (`containers`, whose
 *   stdout/stderr carried it) it came from, and 144 ten-minute buckets (24 h) for counts in a
 *   window (`since`).
 *
 * Worst case memory ≈ (maxApps + 1) × topPerApp × (sampleBytes + ~2 KiB). Kept across restarts
 * through `document()` / `restore()` (store.ts writes it to the state directory).
 */
import type { ParsedTrace, TraceLanguage } from './trace.ts';

export const OTHER_APP = 'other';
export const MAX_SOURCES = 5;
export const BUCKET_MS = 10 * 60_000;
export const BUCKETS = 144;
/** Characters kept of a message. */
const MAX_MESSAGE = 1024;

/** A container whose stdout/stderr carried a trace (container_logs); a ContainerRecord fits. */
export interface ContainerSource {
  id: string;
  name: string;
  image: string;
}

/** Where a trace was read: a log file (its path) or a container's output. */
export type TraceSource = string | ContainerSource;

export interface SummaryBounds {
  maxApps: number;
  topPerApp: number;
  sampleBytes: number;
}

interface Entry {
  fingerprint: string;
  language: TraceLanguage;
  type: string;
  message: string;
  rootType: string;
  rootMessage: string;
  count: number;
  countError: number;
  firstSeen: number;
  lastSeen: number;
  sample: string;
  sources: string[];
  containers: ContainerSource[];
  /** Count per ten-minute slot; `slots[i]` is the slot number (ms / BUCKET_MS) counts[i] belongs to. */
  counts: Uint32Array;
  slots: Uint32Array;
}

interface AppTable {
  entries: Map<string, Entry>;
  total: number;
  /** Fingerprints this app had not in its table when they came (new, or back after eviction). */
  newFingerprints: number;
  lastNewAt: number;
  evictions: number;
}

export interface FingerprintView {
  fingerprint: string;
  language: TraceLanguage;
  type: string;
  message: string;
  rootCause: { type: string; message: string };
  count: number;
  countError: number;
  countInWindow: number;
  firstSeen: string;
  lastSeen: string;
  sources: string[];
  containers: ContainerSource[];
  sample: string;
}

export interface AppView {
  app: string;
  total: number;
  newFingerprints: number;
  lastNewAt: string | null;
  evictions: number;
  fingerprints: FingerprintView[];
}

export interface RecordResult {
  /** The app as counted: its name, or `other` past maxApps. */
  app: string;
  isNew: boolean;
}

/** What is saved across restarts: the tables as they are (ten-minute counts as [slot, count] pairs). */
export interface SummaryDocument {
  version: 1;
  apps: { app: string; total: number; newFingerprints: number; lastNewAt: number; evictions: number; entries: (Omit<Entry, 'counts' | 'slots'> & { slots: [number, number][] })[] }[];
}

export class ExceptionSummary {
  readonly #bounds: SummaryBounds;
  readonly #apps = new Map<string, AppTable>();
  /** Bumped on every change (the store saves when it moved). */
  changes = 0;

  constructor(bounds: SummaryBounds) {
    this.#bounds = bounds;
  }

  get bounds(): SummaryBounds {
    return this.#bounds;
  }

  /** The name `app` is counted under: itself while there is room, else `other`. */
  foldApp(app: string): string {
    if (this.#apps.has(app)) return app;
    const named = this.#apps.size - (this.#apps.has(OTHER_APP) ? 1 : 0);
    return named < this.#bounds.maxApps ? app : OTHER_APP;
  }

  record(appName: string, source: TraceSource, trace: ParsedTrace, now: number): RecordResult {
    this.changes++;
    const app = this.foldApp(appName);
    let table = this.#apps.get(app);
    if (table === undefined) {
      table = { entries: new Map(), total: 0, newFingerprints: 0, lastNewAt: 0, evictions: 0 };
      this.#apps.set(app, table);
    }
    table.total++;
    let entry = table.entries.get(trace.fingerprint);
    const isNew = entry === undefined;
    if (entry === undefined) {
      let inherited = 0;
      if (table.entries.size >= this.#bounds.topPerApp) {
        const victim = smallest(table.entries);
        inherited = victim.count;
        table.entries.delete(victim.fingerprint);
        table.evictions++;
      }
      entry = {
        fingerprint: trace.fingerprint,
        language: trace.language,
        type: trace.type,
        message: '',
        rootType: trace.rootType,
        rootMessage: '',
        count: inherited,
        countError: inherited,
        firstSeen: now,
        lastSeen: now,
        sample: '',
        sources: [],
        containers: [],
        counts: new Uint32Array(BUCKETS),
        slots: new Uint32Array(BUCKETS),
      };
      table.entries.set(trace.fingerprint, entry);
      table.newFingerprints++;
      table.lastNewAt = now;
    }
    entry.count++;
    entry.lastSeen = now;
    entry.type = trace.type;
    entry.message = trace.message.slice(0, MAX_MESSAGE);
    entry.rootType = trace.rootType;
    entry.rootMessage = trace.rootMessage.slice(0, MAX_MESSAGE);
    entry.sample = cut(trace.stackTrace, this.#bounds.sampleBytes);
    if (typeof source === 'string') rememberFile(entry.sources, source);
    else rememberContainer(entry.containers, source);
    const slot = Math.floor(now / BUCKET_MS);
    const i = slot % BUCKETS;
    if (entry.slots[i] !== slot) {
      entry.slots[i] = slot;
      entry.counts[i] = 0;
    }
    entry.counts[i] = (entry.counts[i] as number) + 1;
    return { app, isNew };
  }

  /** Applications (all, or one), each with its fingerprints seen since `since` (unix ms), most frequent first. */
  view(options: { app?: string; since?: number; limit?: number; now?: number } = {}): AppView[] {
    const now = options.now ?? Date.now();
    const since = options.since ?? 0;
    const out: AppView[] = [];
    for (const [app, table] of this.#apps) {
      if (options.app !== undefined && options.app !== app) continue;
      const fingerprints = [...table.entries.values()]
        .filter((e) => e.lastSeen >= since)
        .map((e) => viewOf(e, since, now))
        .sort((a, b) => b.countInWindow - a.countInWindow || b.count - a.count || (a.fingerprint < b.fingerprint ? -1 : 1))
        .slice(0, options.limit ?? Number.MAX_SAFE_INTEGER);
      out.push({
        app,
        total: table.total,
        newFingerprints: table.newFingerprints,
        lastNewAt: table.lastNewAt === 0 ? null : new Date(table.lastNewAt).toISOString(),
        evictions: table.evictions,
        fingerprints,
      });
    }
    return out.sort((a, b) => (a.app < b.app ? -1 : a.app > b.app ? 1 : 0));
  }

  /** @internal For summaryDocument. */
  tables(): [string, AppTable][] {
    return [...this.#apps];
  }

  /** @internal For restoreSummary: an app's table as saved. */
  adopt(app: string, table: AppTable): void {
    this.#apps.set(app, table);
  }

  /** Per app: totals and the time of the latest new fingerprint (Zabbix). */
  totals(): { app: string; total: number; fingerprints: number; newFingerprints: number; lastNewAt: number }[] {
    return [...this.#apps].map(([app, t]) => ({ app, total: t.total, fingerprints: t.entries.size, newFingerprints: t.newFingerprints, lastNewAt: t.lastNewAt }));
  }
}

/** The tables as a JSON-able document. */
export function summaryDocument(s: ExceptionSummary): SummaryDocument {
  return { version: 1, apps: s.tables().map(([app, t]) => ({ app, total: t.total, newFingerprints: t.newFingerprints, lastNewAt: t.lastNewAt, evictions: t.evictions, entries: [...t.entries.values()].map(entryDocument) })) };
}

function entryDocument(e: Entry): SummaryDocument['apps'][number]['entries'][number] {
  const { counts, slots, ...rest } = e;
  const pairs: [number, number][] = [];
  for (let i = 0; i < BUCKETS; i++) if ((counts[i] as number) > 0) pairs.push([slots[i] as number, counts[i] as number]);
  return { ...rest, sources: [...rest.sources], containers: rest.containers.map((c) => ({ ...c })), slots: pairs };
}

const num = (v: unknown): v is number => typeof v === 'number' && Number.isSafeInteger(v) && v >= 0;
const str = (v: unknown): v is string => typeof v === 'string';
const container = (v: unknown): v is ContainerSource => typeof v === 'object' && v !== null && str((v as ContainerSource).id) && str((v as ContainerSource).name) && str((v as ContainerSource).image);

/**
 * Fills an empty summary from a saved document, within its bounds (a smaller max_apps or
 * top_per_app keeps the first apps and the most frequent fingerprints). Malformed parts are
 * skipped; returns how many fingerprints were restored.
 */
export function restoreSummary(s: ExceptionSummary, doc: unknown): number {
  const apps = (doc as Partial<SummaryDocument> | null)?.apps;
  if ((doc as Partial<SummaryDocument> | null)?.version !== 1 || !Array.isArray(apps)) throw new Error('not an exception summary (version 1)');
  let restored = 0;
  for (const a of apps.slice(0, s.bounds.maxApps + 1)) {
    if (!str(a?.app) || s.foldApp(a.app) !== a.app || !num(a.total) || !num(a.newFingerprints) || !num(a.lastNewAt) || !num(a.evictions) || !Array.isArray(a.entries)) continue;
    const entries = new Map<string, Entry>();
    const valid = a.entries.filter((e) => str(e?.fingerprint) && ['java', 'python', 'go'].includes(e.language) && str(e.type) && str(e.message) && str(e.rootType) && str(e.rootMessage)
      && num(e.count) && num(e.countError) && num(e.firstSeen) && num(e.lastSeen) && str(e.sample) && Array.isArray(e.sources) && e.sources.every(str) && Array.isArray(e.slots));
    for (const e of valid.sort((x, y) => y.count - x.count).slice(0, s.bounds.topPerApp)) {
      const counts = new Uint32Array(BUCKETS);
      const slots = new Uint32Array(BUCKETS);
      for (const pair of e.slots) {
        if (!Array.isArray(pair) || !num(pair[0]) || !num(pair[1])) continue;
        slots[pair[0] % BUCKETS] = pair[0];
        counts[pair[0] % BUCKETS] = pair[1];
      }
      const { slots: _pairs, ...rest } = e;
      // A summary saved before containers were counted has no `containers`.
      const containers = Array.isArray(rest.containers) ? rest.containers.filter(container).slice(-MAX_SOURCES).map((c) => ({ id: c.id, name: c.name, image: c.image })) : [];
      entries.set(e.fingerprint, { ...rest, sources: rest.sources.slice(-MAX_SOURCES), containers, sample: cut(rest.sample, s.bounds.sampleBytes), counts, slots });
      restored++;
    }
    s.adopt(a.app, { entries, total: a.total, newFingerprints: a.newFingerprints, lastNewAt: a.lastNewAt, evictions: a.evictions });
  }
  return restored;
}

function smallest(entries: Map<string, Entry>): Entry {
  let min: Entry | undefined;
  for (const e of entries.values()) if (min === undefined || e.count < min.count || (e.count === min.count && e.lastSeen < min.lastSeen)) min = e;
  return min as Entry;
}

/**
 * Occurrences since `since`: whole ten-minute slots from the one `since` falls in, within the last
 * 24 h; a `since` older than that (or 0) gives the total count.
 */
function countSince(e: Entry, since: number, now: number): number {
  const nowSlot = Math.floor(now / BUCKET_MS);
  const from = Math.floor(since / BUCKET_MS);
  if (from <= nowSlot - BUCKETS) return e.count;
  let n = 0;
  for (let i = 0; i < BUCKETS; i++) {
    const s = e.slots[i] as number;
    if (s >= from && s > nowSlot - BUCKETS) n += e.counts[i] as number;
  }
  return n;
}

function viewOf(e: Entry, since: number, now: number): FingerprintView {
  return {
    fingerprint: e.fingerprint,
    language: e.language,
    type: e.type,
    message: e.message,
    rootCause: { type: e.rootType, message: e.rootMessage },
    count: e.count,
    countError: e.countError,
    countInWindow: countSince(e, since, now),
    firstSeen: new Date(e.firstSeen).toISOString(),
    lastSeen: new Date(e.lastSeen).toISOString(),
    sources: [...e.sources],
    containers: e.containers.map((c) => ({ ...c })),
    sample: e.sample,
  };
}

/** The latest MAX_SOURCES files of an entry: `path` added (the oldest goes) unless there. */
function rememberFile(files: string[], path: string): void {
  if (files.includes(path)) return;
  if (files.length >= MAX_SOURCES) files.shift();
  files.push(path);
}

/** The latest MAX_SOURCES containers of an entry, by id; a known one takes its current name and image (a rename). */
function rememberContainer(containers: ContainerSource[], c: ContainerSource): void {
  const known = containers.find((x) => x.id === c.id);
  if (known !== undefined) {
    known.name = c.name;
    known.image = c.image;
    return;
  }
  if (containers.length >= MAX_SOURCES) containers.shift();
  containers.push({ id: c.id, name: c.name, image: c.image });
}

/** At most `bytes` UTF-8 bytes of `s`, cut on a character boundary. */
function cut(s: string, bytes: number): string {
  if (s.length * 3 <= bytes || Buffer.byteLength(s) <= bytes) return s;
  const b = Buffer.from(s).subarray(0, bytes);
  return b.toString('utf8').replace(/\uFFFD$/, '');
}
