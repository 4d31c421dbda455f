/**
 * `npx tsx bench/structure/identifiability.ts`: do the planted benchmark's data pin down
 * the teacher's graph? A check independent of the layer and of any optimizer.
 *
 * The teacher's fixed point satisfies atanh(h*) = u·U + diag(W) + h*·A exactly, so every
 * column l of A is the solution of an ordinary least-squares regression of atanh(h*_l) on
 * [u, 1, h*_{−l}] (the other nodes' outputs). If the design matrix is well conditioned,
 * least squares recovers A, and its K largest off-diagonal magnitudes (K = the planted edge
 * count, the student's edge budget) are the planted edges. Prints, per size: the planted
 * edges among those K (recall) and the largest |A − A_teacher| (float64 throughout).
 *
 * Usage: npx tsx bench/structure/identifiability.ts [--sizes 5x6,10x10,20x15] [--inputs 8] [--rows 1500] [--seed 1]
 */
import { flag } from '../flags.js';
import { makeTeacher, teacherData } from './teacher.js';

const SIZES = flag('sizes', '5x6,10x10,20x15')
  .split(',')
  .map((s) => s.split('x').map(Number) as [number, number]);
const N = Number(flag('inputs', '8'));
const ROWS = Number(flag('rows', '1500'));
const SEED = Number(flag('seed', '1'));

/** Solves the symmetric positive definite system G·x = b (n × n, row-major) by Cholesky; null if G is not positive definite. */
function choleskySolve(g: Float64Array, b: Float64Array, n: number): Float64Array | null {
  const l = new Float64Array(n * n);
  for (let i = 0; i < n; i++) {
    for (let j = 0; j <= i; j++) {
      let s = g[i * n + j];
      for (let k = 0; k < j; k++) s -= l[i * n + k] * l[j * n + k];
      if (i === j) {
        if (!(s > 0)) return null;
        l[i * n + i] = Math.sqrt(s);
      } else l[i * n + j] = s / l[j * n + j];
    }
  }
  const y = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    let s = b[i];
    for (let k = 0; k < i; k++) s -= l[i * n + k] * y[k];
    y[i] = s / l[i * n + i];
  }
  for (let i = n - 1; i >= 0; i--) {
    let s = y[i];
    for (let k = i + 1; k < n; k++) s -= l[k * n + i] * y[k];
    y[i] = s / l[i * n + i];
  }
  return y;
}

for (const [k, m] of SIZES) {
  const t = makeTeacher({ k, m, n: N, inside: 0.3, between: 2, gain: 0.8, seed: 100 + SEED });
  const { p } = t;
  const d = teacherData(t, ROWS, 200 + SEED);
  const cols = N + 1 + p;
  // design rows [u, 1, h*] and targets atanh(h*), float64
  const x = new Float64Array(ROWS * cols);
  const z = new Float64Array(ROWS * p);
  for (let r = 0; r < ROWS; r++) {
    for (let i = 0; i < N; i++) x[r * cols + i] = d.u[r * N + i];
    x[r * cols + N] = 1;
    for (let j = 0; j < p; j++) {
      const h = Math.min(1 - 1e-7, Math.max(-1 + 1e-7, d.clean[r * p + j]));
      x[r * cols + N + 1 + j] = h;
      z[r * p + j] = Math.atanh(h);
    }
  }
  const gram = new Float64Array(cols * cols);
  for (let r = 0; r < ROWS; r++)
    for (let i = 0; i < cols; i++) {
      const xi = x[r * cols + i];
      for (let j = 0; j <= i; j++) gram[i * cols + j] += xi * x[r * cols + j];
    }
  for (let i = 0; i < cols; i++) for (let j = 0; j < i; j++) gram[j * cols + i] = gram[i * cols + j];
  const a = new Float64Array(p * p);
  const keep = new Int32Array(cols - 1);
  for (let l = 0; l < p; l++) {
    // the regression of node l leaves out its own output column
    let c = 0;
    for (let i = 0; i < cols; i++) if (i !== N + 1 + l) keep[c++] = i;
    const n = cols - 1;
    const g = new Float64Array(n * n);
    const b = new Float64Array(n);
    for (let i = 0; i < n; i++) {
      for (let j = 0; j < n; j++) g[i * n + j] = gram[keep[i] * cols + keep[j]];
      let s = 0;
      for (let r = 0; r < ROWS; r++) s += x[r * cols + keep[i]] * z[r * p + l];
      b[i] = s;
    }
    const coef = choleskySolve(g, b, n);
    if (!coef) throw new Error(`${k}x${m}: the design of node ${l} is not positive definite`);
    for (let i = N + 1; i < n; i++) {
      const j = keep[i] - N - 1;
      a[j * p + l] = coef[i];
    }
  }
  const planted = new Set(t.edges);
  const off = [...Array(p * p).keys()].filter((i) => i % (p + 1) !== 0).sort((i, j) => Math.abs(a[j]) - Math.abs(a[i]));
  const top = off.slice(0, t.edges.length);
  const recall = top.filter((i) => planted.has(i)).length / t.edges.length;
  let err = 0;
  for (const i of off) err = Math.max(err, Math.abs(a[i] - t.graph[i]));
  console.log(
    `${k}x${m} (p ${p}, ${N} inputs, ${ROWS} rows, seed ${SEED}): least squares, top-${t.edges.length} recall ${recall.toFixed(3)}, ` +
      `max |A − A_teacher| ${err.toExponential(2)}`,
  );
}
