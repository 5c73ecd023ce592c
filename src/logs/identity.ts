/**
 * Which file is this? Device + inode say where it lives, but inodes are reused as soon as a
 * file is deleted, and copytruncate keeps the inode while replacing the content. So, as
 * Filebeat's `fingerprint` file identity does, a hash of the first bytes is part of the
 * identity: same dev+inode with different first bytes is a different file.
 */
import { createHash } from 'node:crypto';
import type { FileHandle } from 'node:fs/promises';

/** Bytes hashed for the fingerprint (Filebeat's default fingerprint length). */
export const FINGERPRINT_BYTES = 1024;

export interface FileIdentity {
  dev: number;
  ino: number;
  /** How many leading bytes the fingerprint covers (less than FINGERPRINT_BYTES for a file that was shorter). */
  fpLen: number;
  /** sha256 (hex, first 32 chars) of those bytes; '' when fpLen is 0. */
  fp: string;
}

export function identityKey(dev: number, ino: number): string {
  return `${dev}:${ino}`;
}

/** Reads `buf.length` bytes at `position` into `buf`; the count read. */
export type ReadAt = (handle: FileHandle, buf: Buffer, position: number) => Promise<number>;

const readThroughPool: ReadAt = async (handle, buf, position) => (await handle.read(buf, 0, buf.length, position)).bytesRead;

/** Reads up to `length` leading bytes and hashes them. */
export async function fingerprint(handle: FileHandle, length: number, readAt: ReadAt = readThroughPool): Promise<{ fpLen: number; fp: string }> {
  if (length <= 0) return { fpLen: 0, fp: '' };
  const buf = Buffer.allocUnsafe(length);
  const bytesRead = await readAt(handle, buf, 0);
  return { fpLen: bytesRead, fp: bytesRead === 0 ? '' : createHash('sha256').update(buf.subarray(0, bytesRead)).digest('hex').slice(0, 32) };
}

/**
 * Does the open file still hold what `known` fingerprinted? Compares the same number of leading
 * bytes; a file now shorter than the fingerprint was truncated (or replaced).
 */
export async function sameContent(handle: FileHandle, size: number, known: FileIdentity, readAt?: ReadAt): Promise<boolean> {
  if (known.fpLen === 0) return true;
  if (size < known.fpLen) return false;
  const now = await fingerprint(handle, known.fpLen, readAt);
  return now.fp === known.fp;
}

/**
 * Where to start reading an opened file and the identity to keep for it: the saved offset when
 * `saved` describes this content (its fingerprint matches; widened if the file has grown past
 * it), else `firstSightOffset` and a fresh fingerprint (new content, or an inode reused by a new
 * file). A saved offset past the end (truncated while nobody looked) starts over at 0.
 */
export async function resumePoint(handle: FileHandle, stats: { dev: number; ino: number; size: number }, saved: (FileIdentity & { offset: number }) | undefined, firstSightOffset: number): Promise<{ offset: number; identity: FileIdentity }> {
  const fresh = async (): Promise<FileIdentity> => ({ dev: stats.dev, ino: stats.ino, ...(await fingerprint(handle, Math.min(stats.size, FINGERPRINT_BYTES))) });
  if (saved && (await sameContent(handle, stats.size, saved))) {
    const identity = saved.fpLen < FINGERPRINT_BYTES && stats.size > saved.fpLen ? await fresh() : { dev: saved.dev, ino: saved.ino, fpLen: saved.fpLen, fp: saved.fp };
    return { offset: saved.offset <= stats.size ? saved.offset : 0, identity };
  }
  return { offset: firstSightOffset, identity: await fresh() };
}
