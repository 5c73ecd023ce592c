// What loading the agent's modules pulls in from Node itself. `import { x } from 'node:http'`
// builds the ES module facade of node:http, which reads every export, including the getters that
// load Node's bundled undici, http2 and web streams (~2.5 MB of heap in an idle agent that uses
// none of them); src/api/server.ts takes http through process.getBuiltinModule to avoid that.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { test } from 'node:test';

const AGENT = new URL('../../../src/agent.ts', import.meta.url).href;

test("importing the agent's modules does not load Node's bundled undici, http2 or web streams", () => {
  const script = `await import(${JSON.stringify(AGENT)}); process.stdout.write(JSON.stringify(process.moduleLoadList));`;
  const loaded = JSON.parse(execFileSync(process.execPath, ['--input-type=module', '-e', script], { encoding: 'utf8' })) as string[];
  assert.ok(loaded.includes('NativeModule http'), 'the check sees builtins that are loaded');
  for (const unwanted of ['NativeModule internal/deps/undici/undici', 'NativeModule http2', 'NativeModule internal/webstreams/readablestream']) {
    assert.ok(!loaded.includes(unwanted), `${unwanted} was loaded`);
  }
});

const LAZY_BUILTINS = new URL('../../../src/core/lazy-builtins.ts', import.meta.url).href;

test('an agent without TLS or line workers does not load tls, https or worker_threads; a dependency that asks for https gets it on first use', () => {
  // as src/main.ts starts the agent: the stand-ins first, then the modules (dockerode's docker-modem requires https when loaded)
  const script = `(await import(${JSON.stringify(LAZY_BUILTINS)})).deferBuiltins(); await import(${JSON.stringify(AGENT)});
    const before = [...process.moduleLoadList];
    const { createRequire } = await import('node:module');
    const https = createRequire(import.meta.url)('https');
    const request = typeof https.request;
    process.stdout.write(JSON.stringify({ before, after: process.moduleLoadList, request, same: https.Agent === process.getBuiltinModule('node:https').Agent }));`;
  const out = JSON.parse(execFileSync(process.execPath, ['--input-type=module', '-e', script], { encoding: 'utf8' })) as { before: string[]; after: string[]; request: string; same: boolean };
  assert.ok(out.before.includes('NativeModule zlib'), 'the check sees builtins that are loaded');
  for (const deferred of ['NativeModule tls', 'NativeModule https', 'NativeModule worker_threads']) {
    assert.ok(!out.before.includes(deferred), `${deferred} was loaded`);
  }
  assert.equal(out.request, 'function');
  assert.equal(out.same, true, 'the stand-in hands out the real module');
  assert.ok(out.after.includes('NativeModule https') && out.after.includes('NativeModule tls'), 'loaded on first use');
});
