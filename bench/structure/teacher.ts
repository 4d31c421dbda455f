/**
 * A planted-module teacher for the structure benchmark (bench/structure/planted.ts):
 * a Neural Module graph of p = k·m nodes whose strongly connected components are k
 * planted modules of m nodes, and the data it generates.
 *
 * Each module is a directed cycle through its nodes (in a random order) plus random
 * extra edges inside it (each ordered pair with probability `inside`); between modules
 * only feed-forward edges run (from a module to a later one, `between` per pair of
 * consecutive modules), so the condensation is a chain and the SCCs are exactly the
 * planted modules. Edge weights are ±U(0.5, 1), then the whole graph is scaled to
 * spectral norm `gain` (< 1: the teacher's fixed point is a contraction under tanh).
 * The input kernel U (n × p) is N(0, 1/n), the biases N(0, 0.1²).
 *
 * Targets are the teacher's node outputs h*(u) = tanh(x*), x* = u·U + diag(W) +
 * tanh(x*)·A, solved in float64 by Picard iteration to 1e-12 (independent of the layer's
 * float32 solvers), so a student NeuralModule of the same p nodes fitted to (u, h*) has
 * its node identities pinned to the teacher's.
 */
import * as nm from 'tfjs-neural-modules';
import { Random } from 'tfjs-neural-modules/internal';

export interface TeacherSpec {
  /** Number of planted modules. */
  k: number;
  /** Nodes per module. */
  m: number;
  /** Input features. */
  n: number;
  /** Probability of each extra ordered edge inside a module (beyond the cycle). */
  inside: number;
  /** Feed-forward edges from each module to the next. */
  between: number;
  /** Spectral norm of the teacher's active graph. */
  gain: number;
  seed: number;
}

export interface Teacher {
  spec: TeacherSpec;
  p: number;
  /** Row-major p × p graph, diagonal = bias (the layer's `graph` weight layout). */
  graph: Float64Array;
  /** Row-major n × p input kernel. */
  input: Float64Array;
  /** Module id of every node. */
  moduleOf: Int32Array;
  /** Flat indices j·p + k of the planted off-diagonal edges. */
  edges: number[];
}

/** Largest singular value of a row-major p × p matrix with a zero diagonal, by power iteration on AᵀA. */
function spectralNorm(a: Float64Array, p: number): number {
  let v: Float64Array = new Float64Array(p).fill(1 / Math.sqrt(p));
  let sigma = 0;
  for (let it = 0; it < 500; it++) {
    const av = new Float64Array(p);
    for (let j = 0; j < p; j++) for (let k = 0; k < p; k++) if (j !== k) av[j] += a[j * p + k] * v[k];
    const atav = new Float64Array(p);
    for (let j = 0; j < p; j++) for (let k = 0; k < p; k++) if (j !== k) atav[k] += a[j * p + k] * av[j];
    const norm = Math.sqrt(atav.reduce((s, x) => s + x * x, 0));
    if (norm === 0) return 0;
    const next = Math.sqrt(norm);
    v = atav.map((x) => x / norm);
    if (Math.abs(next - sigma) < 1e-12 * next) return next;
    sigma = next;
  }
  return sigma;
}

/** Builds the teacher graph and input kernel of `spec` (deterministic in `spec.seed`). */
export function makeTeacher(spec: TeacherSpec): Teacher {
  const { k, m, n } = spec;
  const p = k * m;
  const rng = new Random(spec.seed);
  const perm = rng.shuffle(Array.from({ length: p }, (_, i) => i));
  const members = Array.from({ length: k }, (_, b) => perm.slice(b * m, (b + 1) * m));
  const moduleOf = new Int32Array(p);
  members.forEach((nodes, b) => nodes.forEach((j) => (moduleOf[j] = b)));
  const graph = new Float64Array(p * p);
  const weight = () => (rng.next() < 0.5 ? -1 : 1) * (0.5 + 0.5 * rng.next());
  for (const nodes of members) {
    if (m === 1) continue;
    for (let i = 0; i < m; i++) graph[nodes[i] * p + nodes[(i + 1) % m]] = weight();
    for (const j of nodes) for (const l of nodes) if (j !== l && graph[j * p + l] === 0 && rng.next() < spec.inside) graph[j * p + l] = weight();
  }
  for (let b = 0; b + 1 < k; b++) {
    for (let e = 0; e < spec.between; e++) {
      const j = members[b][rng.int(m)];
      const l = members[b + 1][rng.int(m)];
      graph[j * p + l] = weight();
    }
  }
  const sigma = spectralNorm(graph, p);
  const scale = sigma > 0 ? spec.gain / sigma : 1;
  const edges: number[] = [];
  for (let i = 0; i < p * p; i++) {
    if (graph[i] === 0) continue;
    graph[i] *= scale;
    edges.push(i);
  }
  for (let j = 0; j < p; j++) graph[j * p + j] = 0.1 * rng.normal();
  const input = Float64Array.from({ length: n * p }, () => rng.normal() / Math.sqrt(n));
  return { spec, p, graph, input, moduleOf, edges };
}

/**
 * Inputs u ~ N(0, 1) (`rows` × n) and the teacher's outputs h*(u) (`rows` × p), both
 * row-major; float64 solve. `noise` adds N(0, (noise·sd(h*))²) to the targets.
 */
export function teacherData(t: Teacher, rows: number, seed: number, noise = 0): { u: Float32Array; h: Float32Array; clean: Float32Array } {
  const { p } = t;
  const n = t.spec.n;
  const rng = new Random(seed);
  const u = Float32Array.from({ length: rows * n }, () => rng.normal());
  const clean = new Float32Array(rows * p);
  const z = new Float64Array(p);
  let x = new Float64Array(p);
  for (let r = 0; r < rows; r++) {
    for (let j = 0; j < p; j++) {
      let s = t.graph[j * p + j];
      for (let i = 0; i < n; i++) s += u[r * n + i] * t.input[i * p + j];
      z[j] = s;
    }
    x.set(z);
    for (let it = 0; it < 10_000; it++) {
      const next = new Float64Array(p);
      for (let j = 0; j < p; j++) next[j] = z[j];
      for (let j = 0; j < p; j++) {
        const fj = Math.tanh(x[j]);
        for (let l = 0; l < p; l++) if (l !== j) next[l] += fj * t.graph[j * p + l];
      }
      let diff = 0;
      for (let j = 0; j < p; j++) diff = Math.max(diff, Math.abs(next[j] - x[j]));
      x = next;
      if (diff < 1e-12) break;
    }
    for (let j = 0; j < p; j++) clean[r * p + j] = Math.tanh(x[j]);
  }
  let sum = 0;
  let sq = 0;
  for (const v of clean) {
    sum += v;
    sq += v * v;
  }
  const sd = Math.sqrt(Math.max(0, sq / clean.length - (sum / clean.length) ** 2));
  const h = noise > 0 ? clean.map((v) => v + noise * sd * rng.normal()) : clean.slice();
  return { u, h, clean };
}

/** Adjusted Rand index of two labelings of the same items: the library's (`nm.analysis.adjustedRandIndex`). */
export const adjustedRandIndex = nm.analysis.adjustedRandIndex;
