/** What every output factory gets from the agent. */
import type { Logger } from 'pino';
import type { Registry } from 'prom-client';

export interface OutputDeps {
  logger: Logger;
  /** The agent's registry for `dockhand_output_*` metrics (none in some tests). */
  registry?: Registry | undefined;
  /** Injected for tests: the reconnect backoff's jitter source. */
  random?: () => number;
}
