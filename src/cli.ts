/**
 * CLI: `dockhand run [--config FILE]`, `dockhand check-config FILE`, `dockhand version`.
 * Exit codes are an interface (docs/operations.md; Ansible and systemd rely on them): 0 ok, 78 configuration error (EX_CONFIG, sysexits.h),
 * 1 anything else.
 *
 * Loaded by main.ts once it has checked the Node.js version (main.ts also holds the memory
 * settings every way of starting the agent gets); importing this module runs the CLI.
 */
import { existsSync } from 'node:fs';
import { Agent } from './agent.ts';
import { DEFAULT_CONFIG_FILE, loadConfig } from './configuration.ts';
import type { LoadedConfig } from './configuration.ts';
import { ConfigError, DockhandError, errorMessage, formatProblem } from './core/errors.ts';
import { createLogger } from './core/logger.ts';
import { VERSION } from './core/version.ts';

export const EXIT_OK = 0;
export const EXIT_FAILURE = 1;
export const EXIT_CONFIG = 78;
/** Bound on a graceful stop; past it the process exits anyway (systemd's TimeoutStopSec is above it). */
const STOP_TIMEOUT_MS = 25_000;

const USAGE = `usage:
  dockhand run [--config FILE]     run the agent (FILE defaults to $DOCKHAND_CONFIG, then ${DEFAULT_CONFIG_FILE} if it exists, else the embedded defaults)
  dockhand check-config FILE       validate FILE (and DOCKHAND_* overrides); exit 0 if valid, 78 listing every problem
  dockhand version                 print the version`;

async function main(argv: string[]): Promise<number> {
  const [command, ...rest] = argv;
  switch (command) {
    case 'version':
    case '--version':
      process.stdout.write(`dockhand ${VERSION}\n`);
      return EXIT_OK;
    case 'check-config':
      return checkConfig(rest);
    case 'run':
      return run(rest);
    case 'help':
    case '--help':
    case '-h':
      process.stdout.write(`${USAGE}\n`);
      return EXIT_OK;
    default:
      process.stderr.write(`dockhand: ${command ? `unknown command "${command}"` : 'missing command'}\n${USAGE}\n`);
      return EXIT_FAILURE;
  }
}

function checkConfig(args: string[]): number {
  if (args.length !== 1 || args[0]?.startsWith('-')) {
    process.stderr.write(`dockhand check-config: expected exactly one FILE\n${USAGE}\n`);
    return EXIT_FAILURE;
  }
  const file = args[0] as string;
  try {
    loadConfig({ file });
    process.stdout.write(`${file}: configuration OK\n`);
    return EXIT_OK;
  } catch (err) {
    return reportConfigError(err, file);
  }
}

function reportConfigError(err: unknown, source: string): number {
  if (err instanceof ConfigError) {
    process.stderr.write(`${source}: ${err.problems.length} problem(s)\n`);
    for (const p of err.problems) process.stderr.write(`${formatProblem(p)}\n`);
    return EXIT_CONFIG;
  }
  process.stderr.write(`dockhand: ${errorMessage(err)}\n`);
  return EXIT_FAILURE;
}

function configFileFor(args: string[]): string | undefined {
  const i = args.findIndex((a) => a === '--config' || a === '-c' || a.startsWith('--config='));
  if (i >= 0) {
    const arg = args[i] as string;
    const value = arg.includes('=') ? arg.slice(arg.indexOf('=') + 1) : args[i + 1];
    if (!value) throw new DockhandError('CONFIG_INVALID', '--config needs a FILE');
    return value;
  }
  if (process.env.DOCKHAND_CONFIG) return process.env.DOCKHAND_CONFIG;
  return existsSync(DEFAULT_CONFIG_FILE) ? DEFAULT_CONFIG_FILE : undefined;
}

async function run(args: string[]): Promise<number> {
  const unknown = args.filter((a, i) => !(a === '--config' || a === '-c' || a.startsWith('--config=') || args[i - 1] === '--config' || args[i - 1] === '-c'));
  if (unknown.length > 0) {
    process.stderr.write(`dockhand run: unexpected argument "${unknown[0]}"\n${USAGE}\n`);
    return EXIT_FAILURE;
  }
  let file: string | undefined;
  let loaded: LoadedConfig;
  try {
    file = configFileFor(args);
    loaded = loadConfig({ file });
  } catch (err) {
    if (err instanceof DockhandError && !(err instanceof ConfigError)) {
      process.stderr.write(`dockhand: ${err.message}\n`);
      return EXIT_CONFIG;
    }
    return reportConfigError(err, file ?? 'embedded defaults');
  }

  const logger = createLogger(loaded.config.log_level, VERSION);
  const agent = new Agent({ loaded, logger, version: VERSION });

  let signals = 0;
  const stopped = new Promise<number>((resolve) => {
    const onStop = (signal: NodeJS.Signals): void => {
      signals++;
      if (signals > 1) {
        logger.warn({ signal }, 'second signal: exiting without waiting');
        process.exit(EXIT_FAILURE);
      }
      logger.info({ signal }, 'signal received, stopping');
      const timer = setTimeout(() => {
        logger.error({ timeoutMs: STOP_TIMEOUT_MS }, 'graceful stop took too long; exiting');
        process.exit(EXIT_FAILURE);
      }, STOP_TIMEOUT_MS);
      timer.unref();
      agent.stop().then(() => resolve(EXIT_OK), (err: unknown) => {
        logger.error({ err: errorMessage(err) }, 'stop failed');
        resolve(EXIT_FAILURE);
      });
    };
    process.on('SIGTERM', onStop);
    process.on('SIGINT', onStop);
  });
  process.on('SIGHUP', () => {
    try {
      const next = loadConfig({ file });
      agent.reload(next).catch((err: unknown) => logger.error({ err: errorMessage(err) }, 'reload failed; keeping the previous settings'));
    } catch (err) {
      logger.error({ err: errorMessage(err) }, 'SIGHUP: new configuration rejected; keeping the running one');
    }
  });

  try {
    await agent.start();
  } catch (err) {
    logger.fatal({ err: errorMessage(err), code: err instanceof DockhandError ? err.code : undefined }, 'start failed');
    return err instanceof DockhandError && err.code === 'CONFIG_INVALID' ? EXIT_CONFIG : EXIT_FAILURE;
  }
  return stopped;
}

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
    // Anything still holding the loop after a graceful stop (a stuck socket) must not keep us alive.
    if (process.argv[2] === 'run') setTimeout(() => process.exit(code), 2000).unref();
  },
  (err: unknown) => {
    process.stderr.write(`dockhand: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
    process.exitCode = EXIT_FAILURE;
  },
);
