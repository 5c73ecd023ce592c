/**
 * A dependency loaded on first use rather than at start-up. Some modules cost an idle agent a
 * lot for a feature most hosts never turn on: undici compiles its WebAssembly HTTP parser when
 * loaded (+28 MB RSS and ~100 ms measured alone, bench/idle), yet only HTTP outputs and HTTP
 * probes use it. `require` here is synchronous (the callers construct clients in constructors)
 * and works for CommonJS packages and, on Node 24, ESM ones too.
 */
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);

/** `load()` returns the module, loading it the first time it is called. */
export function lazyModule<T>(id: string): () => T {
  let loaded: T | undefined;
  return () => (loaded ??= require(id) as T);
}
