'use strict';
// dockhand stub for @grpc/proto-loader (see stubs/README.md): dockerode uses it only for BuildKit sessions.
// Every use is recorded (test/integration/stubs.test.ts fails on any) before it throws.
const calls = (globalThis[Symbol.for('dockhand.stub.calls')] ??= []);
module.exports = new Proxy({}, {
  get: (_target, key) => {
    if (key === '__esModule') return false;
    return () => {
      calls.push('@grpc/proto-loader.' + String(key));
      throw new Error('gRPC (BuildKit sessions) is not available in dockhand');
    };
  },
});
