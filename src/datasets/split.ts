/** Seeded stratified splits and standardization for {@link Table}s. */
import { ConfigError } from '../utils/errors.js';
import { Random } from '../utils/random.js';
import type { Table } from './csv.js';

/**
 * Splits sample indices into parts with the given fractions, class by class, so each
 * part keeps the class proportions. Deterministic for a seed.
 * @example stratifiedSplit(table.y, [0.7, 0.15, 0.15], 1) // [train, val, test]
 */
export function stratifiedSplit(y: Int32Array, fractions: number[], seed: number): number[][] {
  const total = fractions.reduce((a, b) => a + b, 0);
  if (fractions.some((f) => !(f > 0)) || Math.abs(total - 1) > 1e-9) {
    throw new ConfigError(`stratifiedSplit: 'fractions' must be positive and sum to 1; received [${fractions.join(', ')}].`);
  }
  const rng = new Random(seed);
  const byClass = new Map<number, number[]>();
  y.forEach((c, i) => {
    if (!byClass.has(c)) byClass.set(c, []);
    byClass.get(c)!.push(i);
  });
  const parts: number[][] = fractions.map(() => []);
  for (const c of Array.from(byClass.keys()).sort((a, b) => a - b)) {
    const idx = rng.shuffle(byClass.get(c)!.slice());
    let start = 0;
    let acc = 0;
    fractions.forEach((f, k) => {
      acc += f;
      const end = k === fractions.length - 1 ? idx.length : Math.round(acc * idx.length);
      parts[k].push(...idx.slice(start, end));
      start = end;
    });
  }
  return parts.map((p) => rng.shuffle(p));
}

/** Rows `idx` of a table as a new table. */
export function subset(t: Table, idx: number[]): Table {
  const x = new Float32Array(idx.length * t.numFeatures);
  const y = new Int32Array(idx.length);
  idx.forEach((r, i) => {
    x.set(t.x.subarray(r * t.numFeatures, (r + 1) * t.numFeatures), i * t.numFeatures);
    y[i] = t.y[r];
  });
  return { ...t, x, y, numSamples: idx.length };
}

/**
 * Per-feature mean and standard deviation of a table. A feature that is constant in
 * the table (std below 1e-8) gets std 1: standardized, it is 0 on this table and
 * `value − mean` elsewhere, instead of the ×1e8 blow-up a tiny floor gives an unseen
 * value (a pixel that is 0 in every training image and not in a test image).
 */
export function featureStats(t: Table): { mean: Float32Array; std: Float32Array } {
  const d = t.numFeatures;
  const mean = new Float32Array(d);
  const std = new Float32Array(d);
  for (let i = 0; i < t.numSamples; i++) for (let j = 0; j < d; j++) mean[j] += t.x[i * d + j];
  for (let j = 0; j < d; j++) mean[j] /= Math.max(1, t.numSamples);
  for (let i = 0; i < t.numSamples; i++) for (let j = 0; j < d; j++) std[j] += (t.x[i * d + j] - mean[j]) ** 2;
  for (let j = 0; j < d; j++) {
    const s = Math.sqrt(std[j] / Math.max(1, t.numSamples));
    std[j] = s < 1e-8 ? 1 : s;
  }
  return { mean, std };
}

/** Standardizes a table with given statistics (use the training split's). */
export function standardize(t: Table, stats: { mean: Float32Array; std: Float32Array }): Table {
  const d = t.numFeatures;
  const x = new Float32Array(t.x.length);
  for (let i = 0; i < t.numSamples; i++) for (let j = 0; j < d; j++) x[i * d + j] = (t.x[i * d + j] - stats.mean[j]) / stats.std[j];
  return { ...t, x };
}
