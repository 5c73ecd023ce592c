/**
 * Acknowledged offsets of every log file, persisted under the state directory so a restart
 * (or a `kill -9`) resumes where Logstash's last ACK left off. Written as versioned JSON to a
 * temp file, fsynced, renamed over the old one, and the directory fsynced (Vector's
 * checkpointer; Filebeat's registrar): a crash leaves either the old or the new file, never half.
 */
import { mkdir, open, readFile, rename, unlink } from 'node:fs/promises';
import { join } from 'node:path';
import type { Logger } from 'pino';
import { errorMessage } from '../core/errors.ts';
import type { FileIdentity } from './identity.ts';
import { identityKey } from './identity.ts';

const FORMAT_VERSION = 1;
export const REGISTRY_FILE = 'log-offsets.json';

export interface FileOffsetState extends FileIdentity {
  /** Last path the file was seen at (informative: identity is dev+inode+fingerprint). */
  path: string;
  /** Every byte before this offset was shipped and acknowledged. */
  offset: number;
  /** Unix ms of the last change. */
  updatedAt: number;
}

interface RegistryDocument {
  version: number;
  written_at: string;
  files: FileOffsetState[];
}

export class LogFileRegistry {
  readonly #dir: string;
  readonly #path: string;
  readonly #logger: Logger;
  readonly #files = new Map<string, FileOffsetState>();
  #dirty = false;
  #writing: Promise<void> = Promise.resolve();
  #writes = 0;

  constructor(options: { dir: string; logger: Logger }) {
    this.#dir = options.dir;
    this.#path = join(options.dir, REGISTRY_FILE);
    this.#logger = options.logger;
  }

  get path(): string {
    return this.#path;
  }

  get size(): number {
    return this.#files.size;
  }

  /** Completed writes since start (for tests and metrics). */
  get writes(): number {
    return this.#writes;
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
      return { files: this.#files.size, corrupt: false };
    } catch (err) {
      const aside = `${this.#path}.corrupt-${Date.now()}`;
      await rename(this.#path, aside).catch(() => undefined);
      this.#logger.error({ file: this.#path, movedTo: aside, err: errorMessage(err) }, 'log offset registry is corrupt; files will be re-read from their start');
      this.#files.clear();
      return { files: 0, corrupt: true };
    }
  }

  get(dev: number, ino: number): FileOffsetState | undefined {
    return this.#files.get(identityKey(dev, ino));
  }

  entries(): IterableIterator<FileOffsetState> {
    return this.#files.values();
  }

  /** Records a file (new identity, new fingerprint, new path) or replaces its state. */
  put(state: FileOffsetState): void {
    this.#files.set(identityKey(state.dev, state.ino), state);
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

  /** Writes the registry if anything changed since the last write. Writes never overlap. */
  flush(): Promise<void> {
    this.#writing = this.#writing.then(() => (this.#dirty ? this.#write() : undefined));
    return this.#writing;
  }

  async #write(): Promise<void> {
    this.#dirty = false;
    const doc: RegistryDocument = { version: FORMAT_VERSION, written_at: new Date().toISOString(), files: [...this.#files.values()] };
    const tmp = `${this.#path}.tmp-${process.pid}`;
    try {
      const handle = await open(tmp, 'w', 0o640);
      try {
        await handle.writeFile(JSON.stringify(doc));
        await handle.sync();
      } finally {
        await handle.close();
      }
      await rename(tmp, this.#path);
      // The rename itself is only durable once the directory entry is on disk.
      const dir = await open(this.#dir, 'r');
      try {
        await dir.sync();
      } finally {
        await dir.close();
      }
      this.#writes++;
    } catch (err) {
      this.#dirty = true; // try again next time
      await unlink(tmp).catch(() => undefined);
      this.#logger.error({ file: this.#path, err: errorMessage(err) }, 'cannot persist log offsets');
      throw err;
    }
  }
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
