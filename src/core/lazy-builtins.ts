/**
 * Node builtins loaded on first use instead of at start-up. `tls` (with `https`, which loads it)
 * costs ~5 MB of RSS once loaded — OpenSSL's TLS code and state; measured with bench/idle — that
 * an agent without TLS anywhere (the default configuration) never uses. The agent's own modules
 * take them with process.getBuiltinModule where TLS is set up. docker-modem, dockerode's
 * transport, `require('https')`s when it is loaded, for Docker hosts reached over TLS: Node looks
 * in require.cache before its builtins for a name without the `node:` prefix (documented under
 * Modules, "require.cache"), so an entry there hands such CommonJS code a stand-in that loads the
 * real module the first time one of its properties is read.
 */
import { createRequire } from 'node:module';

/** The builtins deferred; `node:`-prefixed requires and ES imports still get them directly. */
export const DEFERRED_BUILTINS = ['https', 'tls'] as const;

type Deferred = (typeof DEFERRED_BUILTINS)[number];

/** Call before the first dependency is loaded (src/main.ts). Idempotent. */
export function deferBuiltins(): void {
  const cache = createRequire(import.meta.url).cache;
  for (const name of DEFERRED_BUILTINS) cache[name] ??= standIn(name);
}

function standIn(name: Deferred): NodeJS.Module {
  let real: object | undefined;
  const load = (): object => (real ??= process.getBuiltinModule(`node:${name}`));
  const exports = new Proxy(
    {},
    {
      get: (_target, key) => Reflect.get(load(), key) as unknown,
      has: (_target, key) => Reflect.has(load(), key),
      ownKeys: () => Reflect.ownKeys(load()),
      getOwnPropertyDescriptor: (_target, key) => {
        const descriptor = Reflect.getOwnPropertyDescriptor(load(), key);
        // the empty target has no such property: a proxy may only report it as configurable
        if (descriptor) descriptor.configurable = true;
        return descriptor;
      },
    },
  );
  return { id: name, filename: name, loaded: true, exports, children: [], paths: [] } as unknown as NodeJS.Module;
}
