'use strict';
// dockhand stub for ssh2 (see stubs/README.md): docker-modem only constructs a Client for ssh:// hosts.
class Client {
  constructor() {
    throw new Error('ssh:// Docker hosts are not supported by dockhand; use unix:// or tcp:// with TLS');
  }
}
module.exports = { Client };
