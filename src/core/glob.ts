/**
 * The one glob dialect of the configuration: log file names (`logs.include`, `logs.exclude`) and
 * container names and image references (`health.rules[].match`). Matched against the whole
 * string: `*` any run of characters (also `/`, so `registry.local/payments/*` takes every image
 * under that path; file names never contain one), `?` one character, `[abc]` / `[a-z]` one of a
 * class and `[!abc]` none of it; everything else is literal. Compiled once to a RegExp.
 */
export function globToRegExp(glob: string): RegExp {
  let re = '^';
  for (let i = 0; i < glob.length; i++) {
    const c = glob[i] as string;
    if (c === '*') re += '.*';
    else if (c === '?') re += '.';
    else if (c === '[') {
      const close = glob.indexOf(']', i + 2);
      if (close < 0) re += '\\[';
      else {
        let body = glob.slice(i + 1, close);
        if (body.startsWith('!')) body = `^${body.slice(1)}`;
        re += `[${body.replace(/\\/g, '\\\\')}]`;
        i = close;
      }
    } else re += c.replace(/[.+^${}()|\\\]]/g, '\\$&');
  }
  return new RegExp(`${re}$`, 's');
}

/** Names that match one of `include` and none of `exclude`. */
export class GlobFilter {
  readonly #include: RegExp[];
  readonly #exclude: RegExp[];

  constructor(include: readonly string[], exclude: readonly string[]) {
    this.#include = include.map(globToRegExp);
    this.#exclude = exclude.map(globToRegExp);
  }

  matches(name: string): boolean {
    return this.#include.some((r) => r.test(name)) && !this.#exclude.some((r) => r.test(name));
  }
}
