/**
 * Python tracebacks and Go panics (trace.ts handles Java). They reach the parser only when the
 * multiline settings join them into one event (docs/exceptions.md shows a pattern that does).
 */
import { normalizeGoFrame, normalizePythonFrame } from './frames.ts';
import type { TraceParts } from './trace.ts';

const PY_FRAME = /^\s+File "([^"]*)", line \d+, in (.*)$/;
const PY_EXCEPTION = /^([A-Za-z_][\w.]*)(?::\s?(.*))?$/;

interface PyBlock {
  type: string;
  message: string;
  frames: string[];
}

/**
 * A traceback, or several chained by `The above exception was the direct cause…` / `During
 * handling of the above exception…`: the last block is the outermost exception (the one raised
 * last), the first block the root cause. Top frames are the innermost (the end of each block).
 */
export function parsePython(text: string, maxFrames: number): TraceParts | null {
  const lines = text.split('\n');
  const start = lines.findIndex((l) => l.trimEnd().endsWith('Traceback (most recent call last):'));
  if (start < 0) return null;
  const blocks: PyBlock[] = [];
  let frames: string[] | null = null;
  for (let i = start; i < lines.length; i++) {
    const line = lines[i] as string;
    if (line.trimEnd().endsWith('Traceback (most recent call last):')) {
      frames = [];
      continue;
    }
    if (frames === null) continue;
    const f = PY_FRAME.exec(line);
    if (f) {
      frames.push(normalizePythonFrame(f[1] ?? '', (f[2] ?? '').trim()));
      continue;
    }
    if (/^\s/.test(line) || line === '') continue; // source lines, carets
    const e = PY_EXCEPTION.exec(line.trimEnd());
    if (e && frames.length > 0) {
      blocks.push({ type: e[1] ?? '', message: e[2] ?? '', frames: frames.slice(-maxFrames).reverse() });
      frames = null;
    }
  }
  if (blocks.length === 0) return null;
  const outer = blocks[blocks.length - 1] as PyBlock;
  const root = blocks[0] as PyBlock;
  const signature = ['python', [...blocks].reverse().map((b) => b.type).join(' > '), ...outer.frames, ...(root === outer ? [] : ['--', ...root.frames])].join('\n');
  return {
    language: 'python',
    type: outer.type,
    message: outer.message,
    stackTrace: lines.slice(start).join('\n'),
    rootType: root.type,
    rootMessage: root.message,
    signature,
  };
}

const GO_PANIC = /^(panic|fatal error): (.*)$/;
const GO_GOROUTINE = /^goroutine \d+ \[/;

/**
 * `panic: …` (or `fatal error: …`) and the first goroutine's stack: its function lines, without
 * arguments, skipping the runtime's own frames (`runtime.*`, `panic(…)`). The type is
 * `runtime.Error` for the runtime's panics (`panic: runtime error: …`), else `panic` / `fatal error`.
 * A re-panic (`panic: x [recovered]` then `panic: y`) is outermost = the last, root = the first.
 */
export function parseGo(text: string, maxFrames: number): TraceParts | null {
  const lines = text.split('\n');
  const panics: { type: string; message: string; line: number }[] = [];
  let goroutine = -1;
  for (let i = 0; i < lines.length; i++) {
    const line = (lines[i] as string).trim();
    const p = GO_PANIC.exec(line);
    if (p && goroutine < 0) {
      const message = (p[2] ?? '').replace(/ \[recovered\]$/, '');
      const type = p[1] === 'fatal error' ? 'fatal error' : message.startsWith('runtime error: ') ? 'runtime.Error' : 'panic';
      panics.push({ type, message, line: i });
    } else if (GO_GOROUTINE.test(line)) {
      goroutine = i;
      break;
    }
  }
  if (panics.length === 0 || goroutine < 0) return null;
  const frames: string[] = [];
  for (let i = goroutine + 1; i < lines.length && frames.length < maxFrames; i++) {
    const line = lines[i] as string;
    if (line === '' || GO_GOROUTINE.test(line)) break;
    if (/^\s/.test(line) || line.startsWith('created by ')) continue; // file:line +0x… and the creator
    const fn = normalizeGoFrame(line);
    if (fn.startsWith('runtime.') || fn === 'panic') continue;
    frames.push(fn);
  }
  const outer = panics[panics.length - 1] as { type: string; message: string; line: number };
  const root = panics[0] as { type: string; message: string; line: number };
  return {
    language: 'go',
    type: outer.type,
    message: outer.message,
    stackTrace: lines.slice(root.line).join('\n'),
    rootType: root.type,
    rootMessage: root.message,
    signature: ['go', panics.map((p) => p.type).reverse().join(' > '), ...frames].join('\n'),
  };
}
