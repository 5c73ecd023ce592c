/**
 * Acknowledged offsets of every log file, persisted under the state directory so a restart
 * (or a `kill -9`) resumes where Logstash's last ACK left off. Written as versioned JSON to a
 * temp file, fsynced, renamed over the old one, and the directory fsynced (Vector's
 * checkpointer; Filebeat's registrar): a crash leaves either the old or the new file, never half.
 */
import { mkdir, readFile, readdir, rename, unlink } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import type { Logger } from 'pino';
import { errorMessage } from '../core/errors.ts';
import { AtomicStateFile } from '../core/state-file.ts';
import type { StateFileMetrics, StateFileStatus } from '../core/state-file.ts';
import type { FileIdentity } from './identity.ts';
import { identityKey } from './identity.ts';

const FORMAT_VERSION = 1;
export const REGISTRY_FILE = 'log-offsets.json';
/** Corrupt registries moved aside (`log-offsets.json.corrupt-<ms>`) that are kept for a post-mortem; older ones are deleted. */
export const KEEP_CORRUPT_COPIES = 3;

export interface FileOffsetState extends FileIdentity {
  /** Last path the file was seen at (informative: identity is dev+inode+fingerprint). */
  path: string;
  /** Every byte before this offset was shipped and acknowledged. */
  offset: number;
  /** Unix ms of the last change. */
  updatedAt: number;
}

/** A container's stdout/stderr position (src/logs/containers/positions.ts): Docker `since` + messages to skip. */
export interface ContainerOffsetState {
  id: string;
  /** Informative: the container's name when last seen. */
  name: string;
  since: number;
  skip: number;
  /** Time of the newest acknowledged message: seconds and nanoseconds. */
  lastSec: number;
  lastNanos: number;
  updatedAt: number;
}

interface RegistryDocument {
  version: number;
  written_at: string;
  files: FileOffsetState[];
  /** Absent in registries written before container output was collected. */
  containers?: ContainerOffsetState[];
}

export class LogFileRegistry {
  readonly #dir: string;
  readonly #path: string;
  readonly #logger: Logger;
  readonly #files = new Map<string, FileOffsetState>();
  readonly #containers = new Map<string, ContainerOffsetState>();
  readonly #file: AtomicStateFile;
  #dirty = false;
  /** Refreshed at every flush (once a second): the time commits are stamped with. */
  #clock = Date.now();
  #writing: Promise<boolean> = Promise.resolve(true);

  constructor(options: { dir: string; logger: Logger; metrics?: StateFileMetrics }) {
    this.#dir = options.dir;
    this.#path = join(options.dir, REGISTRY_FILE);
    this.#logger = options.logger;
    this.#file = new AtomicStateFile({ path: this.#path, logger: options.logger, ...(options.metrics ? { metrics: options.metrics } : {}) });
  }

  get path(): string {
    return this.#path;
  }

  get size(): number {
    return this.#files.size;
  }

  /** Writes, failures and the last error, for /readyz and /v1/host. */
  status(): StateFileStatus {
    return this.#file.status();
  }

  /**
   * Loads the saved offsets. A missing file is a first start; an unreadable or corrupt one is
   * moved aside and logged: files are then re-read from their start (duplicates, never loss).
   */
  async load(): Promise<{ files: number; corrupt: boolean }> {
    await mkdir(this.#dir, { recursive: true, mode: 0o750 });
    let text: string;
    try {
      text = await readFile(this.#path, 'utf8');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return { files: 0, corrupt: false };
      throw err;
    }
    try {
      const doc = JSON.parse(text) as Partial<RegistryDocument>;
      if (doc.version !== FORMAT_VERSION || !Array.isArray(doc.files)) throw new Error(`unsupported registry version ${String(doc.version)}`);
      for (const f of doc.files) {
        if (!isState(f)) throw new Error(`bad entry ${JSON.stringify(f).slice(0, 200)}`);
        this.#files.set(identityKey(f.dev, f.ino), f);
      }
      for (const c of doc.containers ?? []) {
        if (!isContainerState(c)) throw new Error(`bad container entry ${JSON.stringify(c).slice(0, 200)}`);
        this.#containers.set(c.id, c);
      }
      return { files: this.#files.size, corrupt: false };
    } catch (err) {
      const aside = `${this.#path}.corrupt-${Date.now()}`;
      await rename(this.#path, aside).catch(() => undefined);
      this.#logger.error({ file: this.#path, movedTo: aside, err: errorMessage(err) }, 'log offset registry is corrupt; files will be re-read from their start');
      this.#files.clear();
      this.#containers.clear();
      await this.#pruneCorruptCopies();
      return { files: 0, corrupt: true };
    }
  }

  /** Keeps the newest KEEP_CORRUPT_COPIES moved-aside registries: a crash loop must not fill the state directory. */
  async #pruneCorruptCopies(): Promise<void> {
    const prefix = `${REGISTRY_FILE}.corrupt-`;
    const names = (await readdir(this.#dir).catch(() => [] as string[])).filter((n) => n.startsWith(prefix) && /^\d+$/.test(n.slice(prefix.length)));
    names.sort((a, b) => Number(b.slice(prefix.length)) - Number(a.slice(prefix.length)));
    for (const name of names.slice(KEEP_CORRUPT_COPIES)) await unlink(join(this.#dir, name)).catch(() => undefined);
  }

  get(dev: number, ino: number): FileOffsetState | undefined {
    return this.#files.get(identityKey(dev, ino));
  }

  entries(): IterableIterator<FileOffsetState> {
    return this.#files.values();
  }

  /** Records a file (new identity, new fingerprint, new path) or replaces its state; returns the state kept, for commit(). */
  put(state: FileOffsetState): FileOffsetState {
    this.#files.set(identityKey(state.dev, state.ino), state);
    this.#dirty = true;
    return state;
  }

  /**
   * The hot path of acknowledgements (once per acknowledged event): the new offset of a state
   * put() returned, without a key lookup; `updatedAt` is the time of the last flush, which is
   * as precise as anything that reads it.
   */
  commit(state: FileOffsetState, offset: number): void {
    state.offset = offset;
    state.updatedAt = this.#clock;
    this.#dirty = true;
  }

  /** Advances (or, after truncation, resets) a file's acknowledged offset. */
  setOffset(dev: number, ino: number, offset: number): void {
    const s = this.#files.get(identityKey(dev, ino));
    if (!s || s.offset === offset) return;
    s.offset = offset;
    s.updatedAt = Date.now();
    this.#dirty = true;
  }

  remove(dev: number, ino: number): void {
    if (this.#files.delete(identityKey(dev, ino))) this.#dirty = true;
  }

  getContainer(id: string): ContainerOffsetState | undefined {
    return this.#containers.get(id);
  }

  containers(): IterableIterator<ContainerOffsetState> {
    return this.#containers.values();
  }

  /** Records a container's position; returns the state kept, for commitContainer(). */
  putContainer(state: ContainerOffsetState): ContainerOffsetState {
    this.#containers.set(state.id, state);
    this.#dirty = true;
    return state;
  }

  /** An acknowledgement moved a container's position (hot path, as commit()). */
  commitContainer(state: ContainerOffsetState, position: { since: number; skip: number; lastSec: number; lastNanos: number }): void {
    state.since = position.since;
    state.skip = position.skip;
    state.lastSec = position.lastSec;
    state.lastNanos = position.lastNanos;
    state.updatedAt = this.#clock;
    this.#dirty = true;
  }

  removeContainer(id: string): void {
    if (this.#containers.delete(id)) this.#dirty = true;
  }

  /**
   * Drops the offsets of files that no longer exist — deleted while the agent was down, or gone
   * for good — after a scan (Filebeat's clean_removed, Vector's remove_expired): a host with
   * hourly files would otherwise grow the registry without bound. `present(key)` says whether the
   * scan saw (or the collector follows) a dev+inode; entries in `unreadableDirs` (roots the scan
   * could not list: an unmounted disk) are kept. Entries of directories no longer configured go
   * too: no scan will ever find those files again. Returns how many were dropped.
   */
  expireMissing(present: (key: string) => boolean, unreadableDirs: readonly string[]): number {
    let n = 0;
    for (const [key, entry] of this.#files) {
      if (present(key) || unreadableDirs.includes(dirname(entry.path))) continue;
      this.#files.delete(key);
      n++;
    }
    if (n > 0) this.#dirty = true;
    return n;
  }

  /**
   * Writes the registry if anything changed since the last write. Writes never overlap, and a
   * failed one (a full disk) leaves the registry dirty for the next call: resolves false then,
   * never rejects, so one failure cannot stop every later write.
   */
  flush(): Promise<boolean> {
    this.#clock = Date.now();
    this.#writing = this.#writing.then(async () => {
      if (!this.#dirty) return true;
      this.#dirty = false;
      const doc: RegistryDocument = { version: FORMAT_VERSION, written_at: new Date().toISOString(), files: [...this.#files.values()], containers: [...this.#containers.values()] };
      const ok = await this.#file.write(JSON.stringify(doc));
      if (!ok) this.#dirty = true;
      return ok;
    });
    return this.#writing;
  }
}

function isContainerState(v: unknown): v is ContainerOffsetState {
  if (typeof v !== 'object' || v === null) return false;
  const s = v as Record<string, unknown>;
  return typeof s.id === 'string' && typeof s.name === 'string' && Number.isSafeInteger(s.since) && Number.isSafeInteger(s.skip) && (s.skip as number) >= 0 && Number.isSafeInteger(s.lastSec) && Number.isSafeInteger(s.lastNanos) && typeof s.updatedAt === 'number';
}

function isState(v: unknown): v is FileOffsetState {
  if (typeof v !== 'object' || v === null) return false;
  const s = v as Record<string, unknown>;
  return (
    typeof s.path === 'string' &&
    Number.isSafeInteger(s.dev) &&
    Number.isSafeInteger(s.ino) &&
    Number.isSafeInteger(s.offset) &&
    (s.offset as number) >= 0 &&
    Number.isSafeInteger(s.fpLen) &&
    typeof s.fp === 'string' &&
    typeof s.updatedAt === 'number'
  );
}
