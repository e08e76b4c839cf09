/**
 * One metric family written straight in Prometheus's text format, as prom-client writes it, for
 * series too many to keep as prom-client's objects: the router's per subscriber, N² in a
 * meeting of N, whose label objects, hashing and formatting cost prom-client several times
 * the reading they come from. Its series are set afresh at each scrape.
 */
export class TextFamily {
  readonly #name: string;
  readonly #header: string;
  #lines: string[] = [];

  constructor(options: { readonly name: string; readonly help: string; readonly type: 'counter' | 'gauge' }) {
    this.#name = options.name;
    this.#header = `# HELP ${options.name} ${escape(options.help)}\n# TYPE ${options.name} ${options.type}`;
  }

  /** Adds a series; `labels` as `labelText` writes them, each label set once a scrape. */
  add(labels: string, value: number): void {
    this.#lines.push(`${this.#name}{${labels}} ${valueText(value)}`);
  }

  reset(): void {
    this.#lines = [];
  }

  /** The family's help, type and series, without a final newline. */
  text(): string {
    return this.#lines.length === 0 ? this.#header : `${this.#header}\n${this.#lines.join('\n')}`;
  }
}

/** Labels in the text format, in the order given: `name="value",…`. */
export function labelText(labels: Readonly<Record<string, string>>): string {
  return Object.entries(labels)
    .map(([name, value]) => `${name}="${escape(value).replace(/"/g, '\\"')}"`)
    .join(',');
}

function escape(text: string): string {
  return text.replace(/\\/g, '\\\\').replace(/\n/g, '\\n');
}

function valueText(value: number): string {
  if (Number.isNaN(value)) return 'Nan';
  if (!Number.isFinite(value)) return value < 0 ? '-Inf' : '+Inf';
  return `${value}`;
}
