/**
 * Recognizes a stack trace in one joined log event and takes it apart: the outermost exception's
 * type and message, the root cause (innermost `Caused by:`), the trace text and a fingerprint —
 * a hash of the exception class chain and the top frames, normalized (frames.ts) so the same bug
 * gives the same fingerprint across hosts, restarts and builds that only moved lines.
 *
 * Only events the multiline joiner joined from several lines reach this (the caller checks the
 * line count, one integer comparison per event): a single line is never a stack trace, so events
 * without one cost what they did before. Java and the JVM languages (Kotlin, Scala, Groovy print
 * the same format) always; Python tracebacks and Go panics when the multiline settings join them
 * (docs/exceptions.md).
 */
import { createHash } from 'node:crypto';
import { normalizeJavaClass, normalizeJavaFrame } from './frames.ts';
import { parseGo, parsePython } from './trace-other.ts';

export type TraceLanguage = 'java' | 'python' | 'go';

/** A parsed trace as events carry it: the parser's parts with the signature hashed. */
export type ParsedTrace = Omit<TraceParts, 'signature'> & {
  /** 16 hex digits. */
  fingerprint: string;
};

/** What a language parser found, before hashing. */
export interface TraceParts {
  language: TraceLanguage;
  /** Class of the outermost exception (`java.lang.IllegalStateException`). */
  type: string;
  message: string;
  /** The trace lines: from the exception's header line to the end of the event. */
  stackTrace: string;
  /** The innermost cause (the outermost exception itself when there is no cause). */
  rootType: string;
  rootMessage: string;
  /** The normalized signature the fingerprint hashes (class chain and top frames). */
  signature: string;
}

/** Frames per exception of the chain that go into the fingerprint (logs.exceptions.fingerprint_frames). */
export const DEFAULT_FINGERPRINT_FRAMES = 5;

const JAVA_FRAME = /^[ \t]+at [^\s(]/;
const PYTHON_START = 'Traceback (most recent call last):';

/** The trace in `text` (a joined event), or null when it carries none this module understands. */
export function parseTrace(text: string, frames = DEFAULT_FINGERPRINT_FRAMES): ParsedTrace | null {
  let parts: TraceParts | null = null;
  if (text.includes('\tat ') || text.includes('  at ')) parts = parseJava(text, frames);
  if (parts === null && text.includes(PYTHON_START)) parts = parsePython(text, frames);
  if (parts === null && (text.includes('panic: ') || text.includes('fatal error: ')) && text.includes('goroutine ')) parts = parseGo(text, frames);
  if (parts === null) return null;
  const { signature, ...rest } = parts;
  return { ...rest, fingerprint: fingerprintOf(signature) };
}

export function fingerprintOf(signature: string): string {
  return createHash('sha256').update(signature).digest('hex').slice(0, 16);
}

/** `java.lang.IllegalStateException: msg`, optionally after `Exception in thread "main" `. */
const JAVA_HEADER = /^(?:Exception in thread "[^"]*" )?((?:[A-Za-z_$][\w$]*\.)+[A-Za-z_$][\w$]*|[A-Z][\w$]*(?:Exception|Error|Throwable|Failure))(?::(?: (.*))?)?$/;
/** The same, anywhere in a line (a log line that ends with the exception). */
const JAVA_HEADER_INLINE = /((?:[a-z_$][\w$]*\.)+[A-Z][\w$]*(?:Exception|Error|Throwable))(?:: (.*))?$/;
const CAUSE = /^([ \t]*)(Caused by|Suppressed): (.*)$/;

interface Section {
  type: string;
  message: string;
  frames: string[];
}

function splitHeader(rest: string): { type: string; message: string } {
  const m = JAVA_HEADER.exec(rest.trimEnd());
  if (m) return { type: m[1] ?? rest, message: m[2] ?? '' };
  const colon = rest.indexOf(': ');
  return colon < 0 ? { type: rest.trim(), message: '' } : { type: rest.slice(0, colon).trim(), message: rest.slice(colon + 2) };
}

export function parseJava(text: string, maxFrames: number): TraceParts | null {
  const lines = text.split('\n');
  let first = -1;
  for (let i = 0; i < lines.length; i++) {
    if (JAVA_FRAME.test(lines[i] as string)) {
      first = i;
      break;
    }
  }
  if (first < 1) return null;
  // The header: the first line above the frames that is an exception class (a message may span lines).
  let header = -1;
  let type = '';
  let message = '';
  for (let i = 0; i < first; i++) {
    const m = JAVA_HEADER.exec((lines[i] as string).trimEnd());
    if (m) {
      header = i;
      type = m[1] ?? '';
      message = [m[2] ?? '', ...lines.slice(i + 1, first)].join('\n').trimEnd();
      break;
    }
  }
  if (header < 0) {
    // Unanchored: run on the line's end only, so a huge line costs no more than a short one.
    const m = JAVA_HEADER_INLINE.exec((lines[first - 1] as string).trimEnd().slice(-1024));
    if (!m) return null;
    header = first - 1;
    type = m[1] ?? '';
    message = m[2] ?? '';
  }
  const outer: Section = { type, message, frames: [] };
  const chain: Section[] = [outer];
  let current: Section | null = outer;
  for (let i = first; i < lines.length; i++) {
    const line = lines[i] as string;
    if (JAVA_FRAME.test(line)) {
      if (current !== null && current.frames.length < maxFrames) current.frames.push(normalizeJavaFrame(line.trim().slice(3)));
      continue;
    }
    const cause = CAUSE.exec(line);
    if (cause) {
      // Causes of the outermost chain are not indented; suppressed exceptions (and their own
      // causes) are: they stay out of the chain and the fingerprint.
      if (cause[1] === '' && cause[2] === 'Caused by') {
        const { type: t, message: msg } = splitHeader(cause[3] ?? '');
        current = { type: t, message: msg, frames: [] };
        chain.push(current);
      } else {
        current = null;
      }
    }
  }
  const root = chain[chain.length - 1] as Section;
  const signature = [
    'java',
    chain.map((s) => normalizeJavaClass(s.type)).join(' > '),
    ...outer.frames,
    ...(root === outer ? [] : ['--', ...root.frames]),
  ].join('\n');
  return {
    language: 'java',
    type,
    message,
    stackTrace: lines.slice(header).join('\n'),
    rootType: root.type,
    rootMessage: root.message,
    signature,
  };
}
