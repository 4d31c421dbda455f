/**
 * `nm.datasets.featureStats` / `standardize`: the training statistics against a hand
 * computation, and a feature that is constant in training (a digits pixel that is 0 in
 * every training image) staying on the scale of its raw difference on unseen data.
 */
import { describe, expect, it } from 'vitest';
import * as nm from '../src/index.js';

const table = (rows: number[][]): nm.datasets.Table => ({
  x: Float32Array.from(rows.flat()),
  y: Int32Array.from(rows.map((_, i) => i % 2)),
  numSamples: rows.length,
  numFeatures: rows[0].length,
  classes: ['a', 'b'],
  featureNames: rows[0].map((_, j) => `f${j}`),
});

describe('featureStats and standardize', () => {
  it('uses the population mean and std of the training table', () => {
    const train = table([
      [1, 0],
      [3, 0],
      [5, 0],
    ]);
    const s = nm.datasets.featureStats(train);
    expect(Array.from(s.mean)).toEqual([3, 0]);
    expect(s.std[0]).toBeCloseTo(Math.sqrt(8 / 3), 6);
    const z = nm.datasets.standardize(train, s);
    expect(Array.from(z.x).filter((_, i) => i % 2 === 0)).toEqual([-1, 0, 1].map((v) => Math.fround((v * 2) / Math.fround(Math.sqrt(8 / 3)))));
  });

  it('gives a feature constant in training std 1, so an unseen value stays its raw difference (not ×1e8)', () => {
    const train = table([
      [1, 0],
      [3, 0],
    ]);
    const s = nm.datasets.featureStats(train);
    expect(s.std[1]).toBe(1);
    const test = nm.datasets.standardize(table([[2, 16]]), s);
    expect(Array.from(test.x)).toEqual([0, 16]);
  });
});
