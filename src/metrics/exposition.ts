/**
 * Prometheus text format (0.0.4) for the per-container and host series. prom-client keeps the
 * agent's own dockhand_* metrics; these families are written directly because they are rebuilt
 * from fresh samples on every scrape: 200 containers × ~30 families through prom-client's
 * Gauge.set() + registry formatting cost ~20 ms per scrape, this writer ~1 ms (measured
 * on this machine) — cAdvisor's own overhead is a standing complaint of its users.
 *
 * No explicit timestamps: Prometheus stamps samples at scrape time, and explicit ones would
 * defeat its staleness handling when a container goes away.
 */

const NEEDS_ESCAPE = /[\\"\n]/;

/** Label value escaping: backslash, double quote and line feed (exposition format spec). */
export function escapeLabelValue(value: string): string {
  return NEEDS_ESCAPE.test(value) ? value.replace(/[\\"\n]/g, (c) => (c === '\n' ? '\\n' : `\\${c}`)) : value;
}

/** HELP text escaping: backslash and line feed only. */
function escapeHelp(text: string): string {
  return text.replace(/[\\\n]/g, (c) => (c === '\n' ? '\\n' : '\\\\'));
}

export function formatValue(v: number): string {
  if (Number.isNaN(v)) return 'NaN';
  if (v === Infinity) return '+Inf';
  if (v === -Infinity) return '-Inf';
  return String(v);
}

/** `name="value"`, escaped. */
export function labelPair(name: string, value: string): string {
  return `${name}="${escapeLabelValue(value)}"`;
}

export type MetricType = 'counter' | 'gauge';

/** Accumulates one exposition; families must be written whole (all their samples together). */
export class ExpositionWriter {
  readonly #parts: string[] = [];
  readonly #families = new Set<string>();
  #current = '';
  #currentHasSamples = false;
  #pendingHeader = '';

  /** Starts a family; its header is written with its first sample, so empty families leave no trace. */
  family(name: string, type: MetricType, help: string): void {
    if (this.#families.has(name)) throw new Error(`metric family ${name} written twice`);
    this.#families.add(name);
    this.#current = name;
    this.#currentHasSamples = false;
    this.#pendingHeader = `# HELP ${name} ${escapeHelp(help)}\n# TYPE ${name} ${type}\n`;
  }

  /** One sample of the current family; `labels` is pre-rendered `a="x",b="y"` (may be ''). */
  sample(labels: string, value: number | null): void {
    if (value === null) return;
    if (!this.#currentHasSamples) {
      this.#parts.push(this.#pendingHeader);
      this.#currentHasSamples = true;
    }
    this.#parts.push(labels === '' ? `${this.#current} ${formatValue(value)}\n` : `${this.#current}{${labels}} ${formatValue(value)}\n`);
  }

  text(): string {
    return this.#parts.join('');
  }
}
