/**
 * The metric names a PromQL expression reads, for tests that check rules and dashboards only use
 * series the agent exports. A small scanner, not a parser: it blanks out what cannot be a metric
 * name (strings, label matchers, ranges, grouping clauses), then keeps the identifiers that are
 * not function calls or keywords.
 */
const KEYWORDS = new Set(['and', 'or', 'unless', 'by', 'without', 'on', 'ignoring', 'group_left', 'group_right', 'offset', 'bool', 'inf', 'nan']);

export function metricNames(expr: string): string[] {
  const blanked = expr
    .replace(/"(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*'/g, '""')
    .replace(/\{[^}]*\}/g, ' ')
    .replace(/\[[^\]]*\]/g, ' ')
    .replace(/\b(by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)/g, ' ');
  const names = new Set<string>();
  for (const m of blanked.matchAll(/(?<![\w.:])[a-zA-Z_:][a-zA-Z0-9_:]*(?![\w:])(?!\s*\()/g)) {
    if (!KEYWORDS.has(m[0].toLowerCase())) names.add(m[0]);
  }
  return [...names].sort();
}

/** Metric names in a Prometheus text exposition: its `# TYPE` lines and its samples. */
export function exposedNames(exposition: string): Set<string> {
  const names = new Set<string>();
  for (const line of exposition.split('\n')) {
    const type = /^# TYPE (\S+) /.exec(line);
    if (type) names.add(type[1] as string);
    else if (/^[a-zA-Z_:]/.test(line)) names.add(/^[a-zA-Z_:][a-zA-Z0-9_:]*/.exec(line)?.[0] as string);
  }
  return names;
}
