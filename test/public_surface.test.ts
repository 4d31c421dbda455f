/** The runtime exports of both entries equal the surface documented in docs/API.md. */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import * as browserEntry from '../src/index.js';
import * as nodeEntry from '../src/node.js';

function documented(): Record<string, string[]> {
  const doc = readFileSync(new URL('../docs/API.md', import.meta.url), 'utf8');
  const block = /```surface\n([\s\S]*?)```/.exec(doc);
  if (!block) throw new Error('docs/API.md has no ```surface block');
  const out: Record<string, string[]> = {};
  for (const line of block[1].trim().split('\n')) {
    const [ns, names] = line.split(':');
    out[ns.trim()] = names.trim().split(/\s+/).sort();
  }
  return out;
}

function actual(mod: Record<string, unknown>): Record<string, string[]> {
  const out: Record<string, string[]> = { '(top)': [] };
  for (const [k, v] of Object.entries(mod)) {
    if (typeof v === 'function') out['(top)'].push(k);
    else out[k] = Object.keys(v as object).sort();
  }
  out['(top)'].sort();
  return out;
}

describe('public surface', () => {
  it.each([
    ['browser entry', browserEntry],
    ['node entry', nodeEntry],
  ] as const)('%s exports exactly what docs/API.md lists', (_name, mod) => {
    expect(actual(mod as unknown as Record<string, unknown>)).toEqual(documented());
  });
});
