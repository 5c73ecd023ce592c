'use strict';
// dockhand stub for ssh2 (see stubs/README.md): docker-modem only constructs a Client for ssh:// hosts.
// Every use is recorded (test/integration/stubs.test.ts fails on any) before it throws.
const calls = (globalThis[Symbol.for('dockhand.stub.calls')] ??= []);
class Client {
  constructor() {
    calls.push('ssh2.Client');
    throw new Error('ssh:// Docker hosts are not supported by dockhand; use unix:// or tcp:// with TLS');
  }
}
module.exports = { Client };
