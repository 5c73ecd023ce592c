/**
 * Container label keys → Prometheus label names, and the configuration check that keeps the
 * allow-list (`metrics.container_labels`) from producing two identical names: `app.team` and
 * `app_team` both become `container_label_app_team`, and a series with a duplicated label name
 * makes Prometheus reject the whole scrape.
 */
import type { SchemaNode } from '../config/schema-dsl.ts';

/**
 * `container_label_` + the key with characters outside [a-zA-Z0-9_] replaced by `_`, as cAdvisor
 * does (`com.example.team` → `container_label_com_example_team`).
 */
export function containerLabelName(key: string): string {
  return `container_label_${key.replace(/[^a-zA-Z0-9_]/g, '_')}`;
}

/** Wraps the allow-list's schema node: reports keys whose label names collide, naming both. */
export function uniqueContainerLabels(node: SchemaNode<string[]>): SchemaNode<string[]> {
  return {
    ...node,
    decode(raw, path, ctx) {
      const keys = node.decode(raw, path, ctx);
      const seen = new Map<string, string>();
      keys.forEach((key, i) => {
        const name = containerLabelName(key);
        const other = seen.get(name);
        if (other !== undefined) ctx.problems.push({ path: `${path}[${i}]`, reason: `"${key}" and "${other}" both become the Prometheus label ${name}` });
        else seen.set(name, key);
      });
      return keys;
    },
  };
}
