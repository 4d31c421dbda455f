/**
 * The host (CPU) form of the solver contract, for the CPU-resident backends (cpu,
 * wasm), where a whole solve can run in JavaScript and WebAssembly on typed arrays
 * without one tensor op per iteration: `solve(f, x0, options, ws) → { value, result,
 * stats }`, with the same `stats` keys and the same convergence rule as the tensor
 * solvers (relative step ‖x_{t+1} − x_t‖ / (‖x_t‖ + 1e-8) ≤ tol, checked every
 * `checkEvery` iterations).
 *
 * Arrays are node-major blocks `[n, batch]` (row k = `a[k·batch .. (k+1)·batch)`),
 * views into one {@link SparseKernels} arena, so the kernels can work on them.
 */
import type { SparseKernels } from '../kernels/index.js';
import type { ResolvedSolverOptions, SolveResult, SolveStats } from './types.js';

/** A host fixed-point map: writes f(x) into `out` (both `[n, batch]`, distinct arrays). */
export type HostFixedPointMap = (x: Float32Array, out: Float32Array) => void;

/** Scratch arrays a host solver may use, all views of the kernel arena. */
export interface HostWorkspace {
  kernels: SparseKernels;
  /** Rows n of the block being solved. */
  n: number;
  /** Batch size (columns of the node-major block). */
  batch: number;
  /** `count` arrays of at least n·batch floats each (see {@link hostWorkspaceArrays}). */
  arrays: Float32Array[];
  /** `memory + 2` arrays of `batch` floats (per-sample coefficients and dot products). */
  small: Float32Array[];
}

/** A host solver's answer: `value` is one of the workspace arrays (copy it out before the next solve). */
export interface HostSolution {
  value: Float32Array;
  result: SolveResult;
  stats: SolveStats;
}

export type HostSolver = (f: HostFixedPointMap, x0: Float32Array, options: ResolvedSolverOptions, ws: HostWorkspace) => HostSolution;

/** How many block-sized arrays a method needs in its workspace. */
export function hostWorkspaceArrays(options: ResolvedSolverOptions): number {
  if (options.method === 'picard') return 2;
  // x, next, g, r, prevX, prevG, prevR; ΔG and ΔR histories; ΔX only when β ≠ 1.
  return 7 + options.memory * (options.beta === 1 ? 2 : 3);
}

/**
 * The shared host iteration loop: `step(x, next, t)` writes the next iterate into
 * `next`; the loop swaps the two, checks convergence every `checkEvery` iterations
 * and stops at `maxIter`.
 */
export function hostIterate(
  x0: Float32Array,
  options: ResolvedSolverOptions,
  ws: HostWorkspace,
  buffers: [Float32Array, Float32Array],
  step: (x: Float32Array, next: Float32Array, t: number) => void,
  fallbacks: () => number = () => 0,
): HostSolution {
  let [x, next] = buffers;
  if (x !== x0) x.set(x0);
  let residual = Infinity;
  let iterations = 0;
  let result: SolveResult = 'maxIterationsReached';
  for (let t = 1; t <= options.maxIter; t++) {
    step(x, next, t);
    iterations = t;
    const check = t % options.checkEvery === 0 || t === options.maxIter;
    // ‖x_{t+1} − x_t‖ / (‖x_t‖ + 1e-8), the tensor solvers' rule (sums in float64).
    if (check) residual = ws.kernels.relativeStep(next, x);
    [x, next] = [next, x];
    if (check && !Number.isFinite(residual)) {
      result = 'nonFinite';
      break;
    }
    if (check && residual <= options.tol) {
      result = 'successful';
      break;
    }
  }
  return { value: x, result, stats: { iterations, residual, converged: result === 'successful', fallbacks: fallbacks() } };
}
