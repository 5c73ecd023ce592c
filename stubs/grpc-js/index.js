'use strict';
// dockhand stub for @grpc/grpc-js (see stubs/README.md): dockerode uses it only for BuildKit sessions.
const unsupported = () => {
  throw new Error('gRPC (BuildKit sessions) is not available in dockhand');
};
module.exports = new Proxy({}, { get: (_target, key) => (key === '__esModule' ? false : unsupported) });
