/**
 * Arguments of the cyclic forward-forward network (docs/guide/cff.md), their validation and
 * defaults, resolved once.
 */
import { checkInt, checkKeys, checkNumber, ConfigError, fail, show } from '../utils/errors.js';

/** Arguments of {@link cyclicForwardForward} / `new CFFNetwork(args)`. */
export interface CFFArgs {
  /** Number of input features d. */
  inputDim: number;
  /** Number of classes C (≥ 2); labels are embedded as a one-hot of length C. */
  numClasses: number;
  /** Neurons of each unit. Default: `[16, 16, 16, 16]` (four units). */
  unitSizes?: number[];
  /**
   * Directed edges `[from, to]` between units: `to` receives the normalised activity
   * of `from` at the previous step. Default: the bidirectional ring
   * (u−1 → u and u+1 → u, modulo the unit count; a self-loop for one unit).
   */
  edges?: [number, number][];
  /** Propagation steps T. Default: 3. */
  steps?: number;
  /** Goodness threshold θ (on the mean squared activity). Default: 2. */
  threshold?: number;
  /** Adam learning rate of every unit. Default: 0.01. */
  learningRate?: number;
  /** Value s of the embedded one-hot label. Default: 1. */
  labelScale?: number;
  /** Seed of the initial weights, the shuffling and the negative labels. Default: 0. */
  seed?: number;
}

/** Fully resolved {@link CFFArgs}. */
export interface ResolvedCFFArgs {
  inputDim: number;
  numClasses: number;
  unitSizes: number[];
  edges: [number, number][];
  steps: number;
  threshold: number;
  learningRate: number;
  labelScale: number;
  seed: number;
}

const KNOWN = ['inputDim', 'numClasses', 'unitSizes', 'edges', 'steps', 'threshold', 'learningRate', 'labelScale', 'seed'];
export const WHERE = 'cff.cyclicForwardForward';

/** The bidirectional ring on `n` units: (u−1 → u) and (u+1 → u), duplicates removed. */
export function ringEdges(n: number): [number, number][] {
  const seen = new Set<string>();
  const out: [number, number][] = [];
  for (let u = 0; u < n; u++) {
    for (const v of [(u - 1 + n) % n, (u + 1) % n]) {
      const k = `${v},${u}`;
      if (!seen.has(k)) {
        seen.add(k);
        out.push([v, u]);
      }
    }
  }
  return out;
}

/** Validates `args` (ConfigErrors naming the argument) and fills every default. */
export function resolveCffArgs(args: CFFArgs): ResolvedCFFArgs {
  const out = {} as ResolvedCFFArgs;
  if (args == null || typeof args !== 'object') fail(WHERE, 'args', args, 'an object');
  checkKeys(WHERE, args, KNOWN);
  out.inputDim = checkInt(WHERE, 'inputDim', args.inputDim, 1);
  out.numClasses = checkInt(WHERE, 'numClasses', args.numClasses, 2);
  const sizes = args.unitSizes ?? [16, 16, 16, 16];
  if (!Array.isArray(sizes) || sizes.length === 0) fail(WHERE, 'unitSizes', sizes, 'a non-empty array of integers >= 1');
  sizes.forEach((s, i) => checkInt(WHERE, `unitSizes[${i}]`, s, 1));
  out.unitSizes = [...sizes];
  const n = sizes.length;
  const edges = args.edges ?? ringEdges(n);
  if (!Array.isArray(edges)) fail(WHERE, 'edges', edges, 'an array of [from, to] unit index pairs');
  const seen = new Set<string>();
  edges.forEach((e, i) => {
    if (!Array.isArray(e) || e.length !== 2) fail(WHERE, `edges[${i}]`, e, 'a pair [from, to]');
    checkInt(WHERE, `edges[${i}][0]`, e[0], 0, n - 1);
    checkInt(WHERE, `edges[${i}][1]`, e[1], 0, n - 1);
    const k = `${e[0]},${e[1]}`;
    if (seen.has(k)) throw new ConfigError(`${WHERE}: 'edges' lists ${show(e)} twice.`);
    seen.add(k);
  });
  out.edges = edges.map((e) => [e[0], e[1]] as [number, number]);
  out.steps = checkInt(WHERE, 'steps', args.steps ?? 3, 1);
  out.threshold = checkNumber(WHERE, 'threshold', args.threshold ?? 2, 0, Infinity, { lo: true });
  out.learningRate = checkNumber(WHERE, 'learningRate', args.learningRate ?? 0.01, 0, Infinity, { lo: true });
  out.labelScale = checkNumber(WHERE, 'labelScale', args.labelScale ?? 1, 0, Infinity, { lo: true });
  out.seed = checkInt(WHERE, 'seed', args.seed ?? 0, 0);
  return out as ResolvedCFFArgs;
}
