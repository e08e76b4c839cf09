import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Counter, Gauge, Registry } from 'prom-client';
import { labelText, TextFamily } from './TextFamily.js';

describe('TextFamily', () => {
  it('writes what prom-client writes for the same series: help, type, escaped labels in order, values', async () => {
    const registry = new Registry();
    const help = 'A help with a \\ backslash\nand a new line';
    const counter = new Counter({ name: 'x_total', help, labelNames: ['b', 'a'], registers: [registry] });
    const gauge = new Gauge({ name: 'y', help: "The gauge's", labelNames: ['a'], registers: [registry] });
    new Gauge({ name: 'z', help: 'Empty', labelNames: ['a'], registers: [registry] });
    const x = new TextFamily({ name: 'x_total', help, type: 'counter' });
    const y = new TextFamily({ name: 'y', help: "The gauge's", type: 'gauge' });
    const z = new TextFamily({ name: 'z', help: 'Empty', type: 'gauge' });
    for (const [labels, value] of [
      [{ b: 'plain', a: 'id-1' }, 3],
      [{ b: 'say "hi"\\now', a: 'line\nbreak' }, 0.25],
    ] as const) {
      counter.inc(labels, value);
      x.add(labelText(labels), value);
    }
    for (const value of [NaN, Infinity, 1e21]) {
      gauge.set({ a: String(value) }, value);
      y.add(labelText({ a: String(value) }), value);
    }
    assert.equal(`${[x, y, z].map((family) => family.text()).join('\n\n')}\n`, await registry.metrics());
  });
});
