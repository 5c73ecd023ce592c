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
