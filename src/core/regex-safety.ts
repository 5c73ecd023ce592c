/**
 * A static check for regular expressions that can backtrack catastrophically. The multiline
 * pattern runs on every log line, and lines may be up to `max_line_bytes` (1 MiB) long: a pattern
 * like `^(\s+)+x` takes exponential time on a line of spaces and would stall the agent's only
 * thread. JavaScript has no match timeout, so such patterns are refused when the configuration
 * is loaded.
 *
 * The rule is the one the `safe-regex` npm module (and Node's own ReDoS advisories) use: the
 * "star height" — how deeply unbounded quantifiers nest — must stay below 2. A quantified group
 * whose body can itself repeat (`(a+)+`, `(?:x*y)*`, `(a{1,9}){2,}`) is refused; one level of
 * repetition (`\s+at `, `(ab)+`) is fine. It does not catch every slow pattern (overlapping
 * alternatives such as `(a|a)*` pass), but it catches the classic ones at the cost of a scan.
 */

/** Why `pattern` is refused, or undefined when it passes. `pattern` must already compile. */
export function catastrophicBacktrackingRisk(pattern: string): string | undefined {
  // Each open group: the deepest repetition inside it so far, and where it began.
  const groups: { height: number; start: number }[] = [{ height: 0, start: 0 }];
  // The atom a quantifier would apply to: its repetition depth and where it began.
  let last: { height: number; start: number } | undefined;
  let i = 0;
  while (i < pattern.length) {
    const c = pattern[i] as string;
    const top = groups[groups.length - 1] as { height: number; start: number };
    if (c === '\\') {
      last = { height: 0, start: i };
      i += 2;
    } else if (c === '[') {
      const start = i;
      i++;
      if (pattern[i] === '^') i++;
      while (i < pattern.length && pattern[i] !== ']') i += pattern[i] === '\\' ? 2 : 1;
      i++;
      last = { height: 0, start };
    } else if (c === '(') {
      groups.push({ height: 0, start: i });
      last = undefined;
      i++;
      if (pattern[i] === '?') {
        // (?:  (?=  (?!  (?<=  (?<!  (?<name>
        i++;
        if (pattern[i] === '<' && pattern[i + 1] !== '=' && pattern[i + 1] !== '!') i = pattern.indexOf('>', i) + 1;
        else i += pattern[i] === '<' ? 2 : 1;
      }
    } else if (c === ')') {
      const closed = groups.length > 1 ? (groups.pop() as { height: number; start: number }) : top;
      last = { height: closed.height, start: closed.start };
      i++;
    } else if (c === '|') {
      last = undefined;
      i++;
    } else if (c === '*' || c === '+' || c === '?' || (c === '{' && /^\{\d+(,\d*)?\}/.test(pattern.slice(i)))) {
      const end = c === '{' ? pattern.indexOf('}', i) + 1 : i + 1;
      const repeats = c === '*' || c === '+' || (c === '{' && repeatsMoreThanOnce(pattern.slice(i, end)));
      if (last && repeats) {
        const height = last.height + 1;
        if (height >= 2) {
          return `nested repetition "${pattern.slice(last.start, end)}" (a repeated group that itself repeats) can backtrack catastrophically on a long line; rewrite it without the outer or the inner quantifier`;
        }
        last = { height, start: last.start };
      }
      i = end;
      if (pattern[i] === '?') i++; // lazy
    } else {
      last = { height: 0, start: i };
      i++;
    }
    const open = groups[groups.length - 1] as { height: number; start: number };
    if (last && last.height > open.height) open.height = last.height;
  }
  return undefined;
}

/** `{n}`, `{n,}`, `{n,m}`: true when the atom may be repeated more than once. */
function repeatsMoreThanOnce(quantifier: string): boolean {
  const m = /^\{(\d+)(,(\d*))?\}$/.exec(quantifier);
  if (!m) return false;
  const min = Number(m[1]);
  if (m[2] === undefined) return min > 1;
  return m[3] === '' || Number(m[3]) > 1;
}
