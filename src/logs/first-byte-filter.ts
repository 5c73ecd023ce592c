/**
 * A cheap pre-check for line patterns anchored at the start (`^…`): from the pattern's source,
 * the set of bytes a matching line can start with. Most log lines start with a timestamp or a
 * `[`, so for the default Java continuation pattern `^(\s+at |\s+\.\.\. \d+ more|Caused by:)`
 * one table lookup on the first byte rejects them without decoding the line or running the
 * RegExp. A line that passes still runs the RegExp: the filter is only a necessary condition, so
 * results are exactly the RegExp's.
 *
 * The analysis understands a small, common subset of RegExp syntax: alternatives that each begin
 * with `^`, groups (`(…)`, `(?:…)`, `(?<name>…)`), literals and escaped literals, `\s \d \w`,
 * `\t \n \r \f \v \0 \xHH \uHHHH`, non-negated character classes with ranges, and the
 * quantifiers `? * + {n,m}` (lazy too), and the zero-width `$ \b \B` (they consume nothing, so
 * they are transparent). Anything else (`.`, negated classes, `\S \D \W`,
 * look-arounds, back-references, an unanchored alternative, a pattern that can match an empty
 * prefix) returns null: no pre-check, the RegExp runs on every line. Patterns are compiled
 * without flags (as `logs.multiline.pattern` is validated), so matching is case-sensitive.
 *
 * The RegExp runs on the line decoded as UTF-8 (invalid bytes → U+FFFD) and, without the `u`
 * flag, on UTF-16 code units; the byte table accounts for both (see `markCodePoints`).
 */

/** 256 entries; 1 = a line starting with this byte may match. */
export type FirstByteTable = Uint8Array;

/** Code point ranges, inclusive. */
type Ranges = [number, number][];

class Unsupported extends Error {}

/** JS `\s` (ECMA-262 WhiteSpace + LineTerminator). */
const WHITESPACE: Ranges = [
  [0x09, 0x0d],
  [0x20, 0x20],
  [0xa0, 0xa0],
  [0x1680, 0x1680],
  [0x2000, 0x200a],
  [0x2028, 0x2029],
  [0x202f, 0x202f],
  [0x205f, 0x205f],
  [0x3000, 0x3000],
  [0xfeff, 0xfeff],
];
const DIGIT: Ranges = [[0x30, 0x39]];
const WORD: Ranges = [
  [0x30, 0x39],
  [0x41, 0x5a],
  [0x5f, 0x5f],
  [0x61, 0x7a],
];
const SIMPLE_ESCAPES: Record<string, number> = { t: 0x09, n: 0x0a, v: 0x0b, f: 0x0c, r: 0x0d, '0': 0x00 };
/** Characters that are syntax outside a class; escaping them makes a literal. */
const SYNTAX = '^$\\.*+?()[]{}|/-';

/** The first-byte table for `pattern`, or null when no sound pre-check can be derived. */
export function firstByteFilter(pattern: string): FirstByteTable | null {
  try {
    const parser = new FirstSetParser(pattern);
    const ranges = parser.parseAnchoredAlternatives();
    const table = new Uint8Array(256);
    markCodePoints(table, ranges);
    return table;
  } catch (err) {
    if (err instanceof Unsupported) return null;
    throw err;
  }
}

/**
 * Marks the first UTF-8 byte of every code point in `ranges`. Two subtleties:
 * - a surrogate in the set stands for the first UTF-16 unit of an astral character (4-byte
 *   UTF-8, lead F0–F4); a low surrogate cannot come first, and lone surrogates cannot come
 *   out of UTF-8 decoding;
 * - U+FFFD is what invalid bytes decode to, so it marks every non-ASCII byte.
 */
function markCodePoints(table: Uint8Array, ranges: Ranges): void {
  for (const [lo, hi] of ranges) {
    if (lo <= 0xfffd && hi >= 0xfffd) table.fill(1, 0x80, 0x100);
    markRange(table, lo, Math.min(hi, 0xd7ff));
    if (lo <= 0xdbff && hi >= 0xd800) table.fill(1, 0xf0, 0xf5);
    markRange(table, Math.max(lo, 0xe000), hi);
  }
}

function markRange(table: Uint8Array, lo: number, hi: number): void {
  if (lo > hi) return;
  // The lead byte grows monotonically with the code point, so a range maps to a byte range.
  table.fill(1, leadByte(lo), leadByte(hi) + 1);
}

function leadByte(cp: number): number {
  if (cp < 0x80) return cp;
  if (cp < 0x800) return 0xc0 | (cp >> 6);
  if (cp < 0x10000) return 0xe0 | (cp >> 12);
  return 0xf0 | (cp >> 18);
}

interface FirstSet {
  ranges: Ranges;
  /** The construct can match the empty string (so what follows it may come first). */
  nullable: boolean;
}

class FirstSetParser {
  readonly #src: string;
  #i = 0;

  constructor(src: string) {
    this.#src = src;
  }

  /** Top level: every alternative must begin with `^`. */
  parseAnchoredAlternatives(): Ranges {
    const ranges: Ranges = [];
    for (;;) {
      if (this.#src[this.#i] !== '^') throw new Unsupported();
      this.#i++;
      const seq = this.#parseSequence();
      if (seq.nullable) throw new Unsupported();
      ranges.push(...seq.ranges);
      if (this.#i >= this.#src.length) return ranges;
      if (this.#src[this.#i] !== '|') throw new Unsupported(); // an unbalanced `)`
      this.#i++;
    }
  }

  #parseAlternation(): FirstSet {
    const ranges: Ranges = [];
    let nullable = false;
    for (;;) {
      const seq = this.#parseSequence();
      ranges.push(...seq.ranges);
      nullable ||= seq.nullable;
      if (this.#src[this.#i] !== '|') return { ranges, nullable };
      this.#i++;
    }
  }

  /** Atoms up to `|`, `)` or the end; the first set stops growing at the first non-nullable atom. */
  #parseSequence(): FirstSet {
    const ranges: Ranges = [];
    let nullable = true;
    while (this.#i < this.#src.length && this.#src[this.#i] !== '|' && this.#src[this.#i] !== ')') {
      const atom = this.#parseAtom();
      const optional = this.#parseQuantifier();
      if (nullable) ranges.push(...atom.ranges);
      nullable &&= atom.nullable || optional;
    }
    return { ranges, nullable };
  }

  #parseAtom(): FirstSet {
    const c = this.#src[this.#i++] as string;
    switch (c) {
      case '(':
        return this.#parseGroup();
      case '[':
        return { ranges: this.#parseClass(), nullable: false };
      case '\\':
        if (this.#src[this.#i] === 'b' || this.#src[this.#i] === 'B') {
          // A word-boundary assertion consumes nothing: transparent for the first set.
          this.#i++;
          return { ranges: [], nullable: true };
        }
        return { ranges: this.#parseEscape(false), nullable: false };
      case '$':
        return { ranges: [], nullable: true };
      case '.':
      case '^':
      case '*':
      case '+':
      case '?':
      case '{':
      case ']':
      case '}':
        throw new Unsupported();
      default: {
        const cp = c.charCodeAt(0);
        return { ranges: [[cp, cp]], nullable: false };
      }
    }
  }

  #parseGroup(): FirstSet {
    if (this.#src[this.#i] === '?') {
      if (this.#src[this.#i + 1] === ':') this.#i += 2;
      else if (this.#src[this.#i + 1] === '<' && /[A-Za-z_$]/.test(this.#src[this.#i + 2] ?? '')) {
        const close = this.#src.indexOf('>', this.#i);
        if (close === -1) throw new Unsupported();
        this.#i = close + 1;
      } else throw new Unsupported(); // look-arounds, modifiers
    }
    const inner = this.#parseAlternation();
    if (this.#src[this.#i] !== ')') throw new Unsupported();
    this.#i++;
    return inner;
  }

  /** After an atom: true when the quantifier allows zero repetitions. */
  #parseQuantifier(): boolean {
    const c = this.#src[this.#i];
    let optional = false;
    if (c === '*' || c === '?') {
      optional = true;
      this.#i++;
    } else if (c === '+') {
      this.#i++;
    } else if (c === '{') {
      const m = /^\{(\d+)(,\d*)?\}/.exec(this.#src.slice(this.#i));
      if (!m) throw new Unsupported(); // a literal `{` in Annex B syntax: not worth the ambiguity
      optional = Number(m[1]) === 0;
      this.#i += m[0].length;
    } else {
      return false;
    }
    if (this.#src[this.#i] === '?') this.#i++; // lazy
    return optional;
  }

  #parseClass(): Ranges {
    if (this.#src[this.#i] === '^') throw new Unsupported();
    // In JS `[]` is an empty class, so the first `]` always closes (unlike POSIX classes).
    const ranges: Ranges = [];
    while (this.#i < this.#src.length && this.#src[this.#i] !== ']') {
      const lo = this.#classAtom();
      if (this.#src[this.#i] === '-' && this.#src[this.#i + 1] !== ']' && this.#i + 1 < this.#src.length) {
        this.#i++;
        const hi = this.#classAtom();
        if (lo.length !== 1 || hi.length !== 1) throw new Unsupported(); // `[\s-x]`
        const a = (lo[0] as [number, number])[0];
        const b = (hi[0] as [number, number])[0];
        if (a > b) throw new Unsupported();
        ranges.push([a, b]);
      } else {
        ranges.push(...lo);
      }
    }
    if (this.#src[this.#i] !== ']') throw new Unsupported();
    this.#i++;
    if (ranges.length === 0) throw new Unsupported(); // `[]` never matches: leave it to the RegExp
    return ranges;
  }

  #classAtom(): Ranges {
    const c = this.#src[this.#i++] as string;
    if (c === '\\') return this.#parseEscape(true);
    const cp = c.charCodeAt(0);
    return [[cp, cp]];
  }

  #parseEscape(inClass: boolean): Ranges {
    const c = this.#src[this.#i++];
    if (c === undefined) throw new Unsupported();
    if (c === 's') return WHITESPACE;
    if (c === 'd') return DIGIT;
    if (c === 'w') return WORD;
    const simple = SIMPLE_ESCAPES[c];
    if (simple !== undefined && !(c === '0' && /[0-9]/.test(this.#src[this.#i] ?? ''))) return [[simple, simple]];
    if (c === 'x') return this.#hex(2);
    if (c === 'u') return this.#hex(4);
    if (inClass && c === 'b') return [[0x08, 0x08]];
    if (SYNTAX.includes(c)) return [[c.charCodeAt(0), c.charCodeAt(0)]];
    throw new Unsupported(); // \S \D \W \c \k \p, back-references, identity escapes of letters
  }

  #hex(digits: number): Ranges {
    const h = this.#src.slice(this.#i, this.#i + digits);
    if (h.length !== digits || !/^[0-9A-Fa-f]+$/.test(h)) throw new Unsupported();
    this.#i += digits;
    const cp = parseInt(h, 16);
    return [[cp, cp]];
  }
}
