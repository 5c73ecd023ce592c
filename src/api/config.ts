/**
 * The `api` section of the configuration: where the control-plane API listens and who may use
 * it. Off loopback it needs a token or mutual TLS — checked here on the configured address, and
 * again on the address actually bound when the server starts (a name may resolve elsewhere).
 */
import { isLoopbackHost } from '../core/net.ts';
import type { Infer } from '../config/schema-dsl.ts';
import { bool, checked, nullable, obj } from '../config/schema-dsl.ts';
import { hostPort, readableFile } from '../config/values.ts';

export const apiConfig = checked(
  obj('HTTP API for the control plane, Prometheus and Zabbix.', {
    listen: hostPort('Address to listen on (port 1–65535). Off loopback it requires token_file or tls.client_ca; the check is made on the address actually bound, so a name such as localhost counts only if it resolves to loopback.', '127.0.0.1:9731'),
    token_file: nullable(readableFile('File holding the bearer token; when set, every endpoint but /healthz requires it.')),
    tls: nullable(
      obj('HTTPS for the API.', {
        cert: readableFile('Server certificate (PEM).'),
        key: readableFile('Server private key (PEM).'),
        client_ca: nullable(readableFile('CA for client certificates: set = mutual TLS required.')),
      }),
      'HTTPS (null = plain HTTP).',
    ),
    metrics_auth: bool('Require the token on /metrics (false = open for Prometheus).', true),
  }),
  (api, _path, report) => {
    if (!isLoopbackHost(api.listen.host) && api.token_file === null && api.tls?.client_ca == null) {
      report('listen', `listening on ${api.listen.host} (not loopback) requires api.token_file or api.tls.client_ca: the API exposes the host's containers`);
    }
  },
);

export type ApiConfig = Infer<typeof apiConfig>;
