/** pino JSON logs on stdout (journald picks them up); one root logger, children per component. */
import { pino } from 'pino';
import type { Logger, LevelWithSilent } from 'pino';

export function createLogger(level: LevelWithSilent, version: string): Logger {
  return pino({
    level,
    base: { service: 'dockhand', version, pid: process.pid },
    timestamp: pino.stdTimeFunctions.isoTime,
    formatters: { level: (label) => ({ level: label }) },
  });
}
