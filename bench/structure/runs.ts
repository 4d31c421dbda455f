/**
 * What the structure benchmarks (planted.ts, readout.ts) share: the commit a run records,
 * the `--sizes 5x6,10x10` flag, their JSONL stores and the median of their tables.
 */
import { execSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { flag } from '../flags.js';

/** The short commit of the checkout at `root`, or 'unknown' outside git. */
export function commitOf(root: string): string {
  try {
    return execSync('git rev-parse --short HEAD', { cwd: root }).toString().trim();
  } catch {
    return 'unknown';
  }
}

/** The teacher sizes of `--sizes k×m,…` as [k, m] pairs (default 5x6). */
export function sizesFlag(): [number, number][] {
  return flag('sizes', '5x6')
    .split(',')
    .map((s) => s.split('x').map(Number) as [number, number]);
}

/** Every run stored in a JSONL file, one JSON object per line; [] when the file is absent. */
export function readRuns<T>(file: string): T[] {
  return existsSync(file)
    ? readFileSync(file, 'utf8')
        .split('\n')
        .filter(Boolean)
        .map((l) => JSON.parse(l) as T)
    : [];
}

/** The median of a list (NaN when empty). */
export function median(a: number[]): number {
  const s = [...a].sort((x, y) => x - y);
  return s.length ? (s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2) : NaN;
}
