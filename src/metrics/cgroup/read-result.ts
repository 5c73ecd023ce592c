/**
 * What reading one container's cgroup gives, for both hierarchies. "Gone" (the cgroup directory
 * does not exist: the container stopped mid-sweep, or its path is stale) and "unreadable"
 * (permission, I/O error) are told apart because the sampler handles them differently: skip
 * versus fall back to the Docker stats API.
 */
import type { CpuFigures, MemoryFigures } from '../types.ts';
import type { HeldFiles, KernelFileReader, ReadFailure } from './file-reader.ts';
import { isFailure } from './file-reader.ts';
import type { BlockIoCounters } from './parse.ts';

export type CgroupReadResult =
  | { kind: 'ok'; cpu: CpuFigures; memory: MemoryFigures; blockIo: BlockIoCounters[] | null; pids: number | null }
  | { kind: 'gone'; path: string }
  | { kind: 'unreadable'; path: string; error: string };

/**
 * Per-container read state: the descriptors held open between sweeps, and the files that were
 * absent or unreadable once (a controller not mounted or not enabled for the subtree, an older
 * kernel's missing file), not tried again for this container so a steady degradation costs no
 * failed open() per sweep. Both are dropped when the container restarts.
 */
export interface ContainerFiles {
  held: HeldFiles;
  skip: Set<string>;
}

export function newContainerFiles(): ContainerFiles {
  return { held: new Map(), skip: new Set() };
}

/** Errors that mean the cgroup directory itself is gone (ENODEV: removed while open). */
export function meansGone(error: string): boolean {
  return error === 'ENOENT' || error === 'ENODEV' || error === 'ENOTDIR';
}

/** Reads an optional file: its text, or null (recorded in `files.skip`) when absent or unreadable. */
export function readOptional(reader: KernelFileReader, path: string, files: ContainerFiles): string | null {
  if (files.skip.has(path)) return null;
  const r: string | ReadFailure = reader.readHeld(path, files.held);
  if (isFailure(r)) {
    files.skip.add(path);
    return null;
  }
  return r;
}
