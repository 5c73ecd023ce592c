/**
 * glibc's malloc_trim(3), through the one native object the agent has (malloc-trim.c, built by
 * scripts/build-native.ts into dist/core/malloc-trim.node, beside this module's compiled form).
 *
 * Optional by design: a build without a C compiler, a copy of dist/ without the object, or a libc
 * without malloc_trim (the addon would not load) gives an agent that works the same and only
 * keeps ~1-2 MB more when idle. So loading never throws; the reason is kept for the log.
 */
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';

export interface MallocTrim {
  /** Returns free heap memory to the kernel; true when some was given back. */
  trim(): boolean;
}

export type MallocTrimLoad = { ok: true; addon: MallocTrim } | { ok: false; reason: string };

let loaded: MallocTrimLoad | undefined;

/** Loads the addon from `file` (default: beside this module); never throws. */
export function loadMallocTrim(file: string | URL = new URL('./malloc-trim.node', import.meta.url)): MallocTrimLoad {
  try {
    const addon = createRequire(import.meta.url)(file instanceof URL ? fileURLToPath(file) : file) as Partial<MallocTrim>;
    if (typeof addon.trim !== 'function') return { ok: false, reason: 'the object exports no trim()' };
    return { ok: true, addon: addon as MallocTrim };
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    return { ok: false, reason: code === 'MODULE_NOT_FOUND' ? 'not built (no C compiler when dist/ was built)' : (err as Error).message };
  }
}

/** The agent's addon, loaded once. */
export function mallocTrim(): MallocTrimLoad {
  loaded ??= loadMallocTrim();
  return loaded;
}
