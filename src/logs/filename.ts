/**
 * The platform's log file naming convention (docs/logs.md): metadata comes from the name.
 *
 *   <logtype>_<app>_<env>_<imagetag>_<hostname>_<yyyymmdd>.log        (dataset `app`)
 *   tracing_<app>_<env>_<imagetag>_<hostname>_<yyyymmddhh>.log         (dataset `tracing`)
 *
 * Parsed from the right: date, hostname, image tag and env are single `_`-free tokens, the log
 * type is the first token, and the app is everything in between — so an app name may contain
 * `_` (the only field that may). A name that does not follow the convention is not an error for
 * the pipeline: the caller ships the file anyway, tagged `_filename_unparsed`, and counts it; the
 * reason returned here says what is wrong so the log line that reports it is actionable.
 *
 * Edge cases, decided:
 * - The extension is matched case-insensitively (`.log`, `.LOG`): the file was already selected
 *   by `logs.include`, only its metadata is at stake here, and env codes are case-insensitive too.
 *   A rotated `x.log.1` does not end in `.log` and is unparsed.
 * - The dataset follows the first token (`tracing`, any case), not the directory the file is in.
 * - Date validation is strict: 8 digits forming a real calendar date for app logs; 10 digits
 *   (a real date plus an hour 00–23) for `tracing_` logs. A `tracing_` file with an 8-digit date
 *   (or an app log with 10 digits) is unparsed: the convention fixes hourly tracing files, and the
 *   tag makes a mis-configured logback pattern visible instead of guessing.
 * - Empty tokens (`__`): the log type, env, image tag, hostname and date must be non-empty. The
 *   app keeps every `_` it has, including doubled or leading ones (`a__b`, `_a`) — parsing from
 *   the right makes that unambiguous — but must not be empty.
 * - Hostnames may contain `-` and `.` (DNS names, Docker's 12-hex id prefix); nothing is checked
 *   beyond "non-empty": a hostname cannot contain `_`, which is what makes parsing from the right
 *   work. An image tag containing `_` (Docker allows it) shifts the fields and is reported through
 *   the env check.
 * - Non-UTF-8 bytes: Node decodes file names as UTF-8 and turns invalid bytes into U+FFFD, so the
 *   original bytes are already lost by the time a name reaches us. A name containing U+FFFD is
 *   unparsed rather than turning replacement characters into labels.
 */

export type LogDataset = 'app' | 'tracing';

export interface LogFileMeta {
  dataset: LogDataset;
  /** First token, as written (`weberror`, `tracing`). */
  logType: string;
  /** Everything between the log type and the env; may contain `_`. */
  app: string;
  /** Environment code, lower-case (`nor`). */
  env: string;
  imageTag: string;
  /** The container's hostname, as written. */
  hostname: string;
  /** As in the name: `yyyymmdd`, or `yyyymmddhh` for tracing logs. */
  date: string;
}

export type LogFileNameResult = { ok: true; meta: LogFileMeta } | { ok: false; reason: string };

export interface LogFileNameOptions {
  /** Known environment codes (`logs.env_codes`), compared case-insensitively. */
  envCodes: readonly string[];
}

/** Tag added to events of files whose name does not follow the convention (docs/logs.md). */
export const FILENAME_UNPARSED_TAG = '_filename_unparsed';

const SHAPE = '<logtype>_<app>_<env>_<imagetag>_<hostname>_<date>.log';

export function parseLogFileName(path: string, options: LogFileNameOptions): LogFileNameResult {
  const base = path.slice(path.lastIndexOf('/') + 1);
  if (base.includes('\uFFFD')) return fail('the name is not valid UTF-8 (it contains U+FFFD)');
  if (base.length < 4 || base.slice(-4).toLowerCase() !== '.log') return fail(`"${base}" does not end in .log`);
  const tokens = base.slice(0, -4).split('_');
  const n = tokens.length;
  if (n < 6) return fail(`expected at least 6 "_"-separated fields (${SHAPE}), got ${n}`);

  const logType = tokens[0] as string;
  const env = tokens[n - 4] as string;
  const imageTag = tokens[n - 3] as string;
  const hostname = tokens[n - 2] as string;
  const date = tokens[n - 1] as string;
  const app = tokens.slice(1, n - 4).join('_');
  if (logType === '') return fail('the log type (first field) is empty');
  if (app === '') return fail('the app name is empty');
  if (env === '') return fail('the env field is empty');
  if (imageTag === '') return fail('the image tag is empty');
  if (hostname === '') return fail('the hostname is empty');

  const envCode = env.toLowerCase();
  if (!options.envCodes.some((c) => c.toLowerCase() === envCode)) {
    return fail(`env "${env}" is not one of ${options.envCodes.map((c) => c.toLowerCase()).join(', ')}`);
  }

  const dataset: LogDataset = logType.toLowerCase() === 'tracing' ? 'tracing' : 'app';
  const dateProblem = dataset === 'tracing' ? checkDateHour(date) : checkDate(date);
  if (dateProblem !== undefined) return fail(dateProblem);

  return { ok: true, meta: { dataset, logType, app, env: envCode, imageTag, hostname, date } };
}

/**
 * The ECS `labels.*` of a parsed name (docs/logs.md, event fields): the Logstash side filters on these.
 */
export function labelsForLogFile(meta: LogFileMeta): Record<string, string> {
  return {
    log_type: meta.logType,
    app: meta.app,
    env: meta.env,
    image_tag: meta.imageTag,
    container_hostname: meta.hostname,
    log_date: meta.date,
  };
}

function fail(reason: string): LogFileNameResult {
  return { ok: false, reason };
}

const DIGITS = /^[0-9]+$/;

function checkDate(date: string): string | undefined {
  if (date.length !== 8 || !DIGITS.test(date)) return `date "${date}" is not yyyymmdd (8 digits)`;
  return realDate(date);
}

function checkDateHour(date: string): string | undefined {
  if (date.length !== 10 || !DIGITS.test(date)) return `tracing date "${date}" is not yyyymmddhh (10 digits)`;
  const day = realDate(date.slice(0, 8));
  if (day !== undefined) return day;
  const hour = Number(date.slice(8, 10));
  return hour <= 23 ? undefined : `tracing date "${date}" has hour ${date.slice(8, 10)} (00–23)`;
}

function realDate(yyyymmdd: string): string | undefined {
  const year = Number(yyyymmdd.slice(0, 4));
  const month = Number(yyyymmdd.slice(4, 6));
  const day = Number(yyyymmdd.slice(6, 8));
  if (year < 1970) return `date "${yyyymmdd}" is before 1970`;
  if (month < 1 || month > 12) return `date "${yyyymmdd}" has month ${yyyymmdd.slice(4, 6)} (01–12)`;
  const leap = (year % 4 === 0 && year % 100 !== 0) || year % 400 === 0;
  const days = [31, leap ? 29 : 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31][month - 1] as number;
  if (day < 1 || day > days) return `date "${yyyymmdd}" has day ${yyyymmdd.slice(6, 8)} (${yyyymmdd.slice(0, 6)} has ${days} days)`;
  return undefined;
}
