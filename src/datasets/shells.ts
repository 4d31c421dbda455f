/**
 * Two concentric spherical shells in d dimensions: the URN paper's synthetic task
 * (Golkar, "Emergent Structures and Lifetime Structure Evolution in Artificial
 * Neural Networks", Sec. 2: "two uniform concentric 10-d spherical shell distributions").
 */
import { checkInt, checkKeys, checkNumber, fail } from '../utils/errors.js';
import { Random } from '../utils/random.js';
import type { Table } from './csv.js';

/** Options of {@link concentricShells}. */
export interface ConcentricShellsOptions {
  /** Dimension d. Default: 10. */
  dims?: number;
  /** Number of samples (half per class; class 1 gets the odd one). Default: 5000. */
  samples?: number;
  /** Seed of the generator. Default: 0. */
  seed?: number;
  /**
   * `[[inner0, outer0], [inner1, outer1]]`: class c is uniform in the volume
   * `inner_c ≤ |x| ≤ outer_c`; a single number r means the sphere |x| = r.
   * Default: `[[0.6, 0.9], [1.1, 1.4]]`.
   */
  radii?: [number | [number, number], number | [number, number]];
}

/**
 * Samples two classes uniformly from concentric spherical shells (directions from
 * normalised Gaussians, radius by inverse-CDF of the volume density ∝ r^(d−1)).
 * Deterministic for a seed; class order shuffled. Labels: 0 = inner shell, 1 = outer.
 *
 * When to use: as the URN's emergent-MLP task, or any test of a non-linear boundary
 * that no linear model can draw. Caveat: the classes are separable whenever the
 * shells do not overlap, so 100% accuracy is reachable.
 *
 * @example const t = nm.datasets.concentricShells({ dims: 10, samples: 5000, seed: 1 });
 */
export function concentricShells(opts: ConcentricShellsOptions = {}): Table {
  const where = 'concentricShells';
  checkKeys(where, opts, ['dims', 'samples', 'seed', 'radii']);
  const d = checkInt(where, 'dims', opts.dims ?? 10, 1);
  const n = checkInt(where, 'samples', opts.samples ?? 5000, 2);
  const seed = checkInt(where, 'seed', opts.seed ?? 0, 0);
  const radiiIn = opts.radii ?? [
    [0.6, 0.9],
    [1.1, 1.4],
  ];
  if (!Array.isArray(radiiIn) || radiiIn.length !== 2) fail(where, 'radii', radiiIn, 'two entries, one per class: r or [inner, outer]');
  const radii = radiiIn.map((r, c) => {
    const [a, b] =
      typeof r === 'number' ? [r, r] : Array.isArray(r) && r.length === 2 ? r : fail(where, `radii[${c}]`, r, 'a number r or a pair [inner, outer]');
    checkNumber(where, `radii[${c}][0]`, a, 0);
    checkNumber(where, `radii[${c}][1]`, b, a);
    return [a, b] as [number, number];
  });
  const rng = new Random(seed);
  const labels = Array.from({ length: n }, (_, i) => (i < Math.floor(n / 2) ? 0 : 1));
  rng.shuffle(labels);
  const x = new Float32Array(n * d);
  const y = new Int32Array(n);
  const v = new Float64Array(d);
  for (let i = 0; i < n; i++) {
    const c = labels[i];
    let norm = 0;
    do {
      norm = 0;
      for (let k = 0; k < d; k++) {
        v[k] = rng.normal();
        norm += v[k] * v[k];
      }
    } while (norm < 1e-12);
    norm = Math.sqrt(norm);
    const [a, b] = radii[c];
    const u = rng.next();
    const r = Math.pow(a ** d + u * (b ** d - a ** d), 1 / d);
    for (let k = 0; k < d; k++) x[i * d + k] = (v[k] / norm) * r;
    y[i] = c;
  }
  return {
    x,
    y,
    numSamples: n,
    numFeatures: d,
    classes: ['inner', 'outer'],
    featureNames: Array.from({ length: d }, (_, k) => `x${k + 1}`),
  };
}
