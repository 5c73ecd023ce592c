/**
 * The configuration file as a whole: each capability owns its section's schema (keys, defaults,
 * documentation, checks — as Fluent Bit plugins own their config maps), and this module only
 * assembles them. Key names are an interface operators' Ansible roles and tooling are written
 * against: add keys, never rename. docs/configuration.md's reference is generated from this
 * schema (`npm run config-reference`) and a unit test keeps the two in step.
 */
import { apiConfig } from './api/config.ts';
import { auditConfig } from './audit/config.ts';
import { loadConfigWith } from './config/load.ts';
import type { LoadOptions, Loaded } from './config/load.ts';
import type { Infer } from './config/schema-dsl.ts';
import { obj, oneOf } from './config/schema-dsl.ts';
import { directory } from './config/values.ts';
import { dockerConfig } from './docker/config.ts';
import { healthConfig } from './health/config.ts';
import { logsConfig } from './logs/config.ts';
import { containerLogsConfig } from './logs/containers/config.ts';
import { metricsConfig } from './metrics/config.ts';
import { outputsConfig } from './outputs/config.ts';

export { DEFAULT_CONFIG_FILE } from './config/load.ts';

const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;

export const configSchema = obj('dockhand configuration', {
  log_level: oneOf('pino log level of the agent\'s own JSON logs on stdout.', LOG_LEVELS, 'info'),
  state_dir: directory('Directory for state that must survive a restart (log offsets, health state). Created when missing.', '/var/lib/dockhand'),
  docker: dockerConfig,
  api: apiConfig,
  logs: logsConfig,
  container_logs: containerLogsConfig,
  outputs: outputsConfig,
  metrics: metricsConfig,
  health: healthConfig,
  audit: auditConfig,
});

export type Config = Infer<typeof configSchema>;
export type LoadedConfig = Loaded<Config>;

/** Loads the agent's configuration (file, DOCKHAND_* overrides); throws ConfigError listing every problem. */
export function loadConfig(options: LoadOptions = {}): LoadedConfig {
  return loadConfigWith(configSchema, options);
}
