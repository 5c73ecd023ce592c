// The benches' command line: node:util's parseArgs, plus `--help` (or `-h`), which prints the
// bench's usage — the comment at the top of its file — and a bad option, which gets one line and
// exit 2 instead of parseArgs' stack trace.
import { readFileSync } from 'node:fs';
import { basename } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import type { ParseArgsConfig } from 'node:util';

/** The leading `//` comment of a source file, without the slashes. */
export function usageOf(source: string): string {
  const lines: string[] = [];
  for (const line of source.split('\n')) {
    if (!line.startsWith('//')) break;
    lines.push(line.replace(/^\/\/ ?/, ''));
  }
  return `${lines.join('\n')}\n`;
}

/** parseArgs for the bench at `benchUrl` (its import.meta.url). */
export function benchArgs<const T extends ParseArgsConfig>(benchUrl: string, config: T): ReturnType<typeof parseArgs<T>> {
  const file = fileURLToPath(benchUrl);
  const args = config.args ?? process.argv.slice(2);
  if (args.includes('--help') || args.includes('-h')) {
    process.stdout.write(usageOf(readFileSync(file, 'utf8')));
    process.exit(0);
  }
  try {
    return parseArgs(config);
  } catch (err) {
    return badArgument(benchUrl, err instanceof Error ? err.message : String(err));
  }
}

/** A value parseArgs accepted but the bench cannot use: one line, exit 2 (as a bad option). */
export function badArgument(benchUrl: string, message: string): never {
  process.stderr.write(`${basename(fileURLToPath(benchUrl))}: ${message} (--help for usage)\n`);
  process.exit(2);
}
