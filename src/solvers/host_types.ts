/**
 * The host (CPU) form of the solver contract, for the CPU-resident backends (cpu,
 * wasm), where a whole solve can run in JavaScript and WebAssembly on typed arrays
 * without one tensor op per iteration. A host method is created by its `init`
 * `(f, x0, options, ws)` and driven by the same loop and per-row rule as the tensor
 * methods ({@link solveFixedPoint}), so `stats` has the same keys and meaning.
 *
 * Arrays are node-major `[n, batch]` (row k holds the batch's values of node k) in the
 * layout of the workspace's kernel view (src/kernels/blocked.ts); views into one kernel
 * arena, so the kernels can work on them.
 */
import type { BlockedKernels } from '../kernels/blocked.js';
import { relativeResidual, solveFixedPoint, type LoopSolution } from './loop.js';
import type { FixedPointMethod, ResolvedSolverOptions } from './solver_types.js';

/** A host fixed-point map: writes f(x) into `out` (both `[n, batch]`, distinct arrays). */
export type HostFixedPointMap = (x: Float32Array, out: Float32Array) => void;

/** Scratch arrays a host solver may use, all views of the kernel arena. */
export interface HostWorkspace {
  /** The kernels, over the layout every array of n·batch floats has. */
  kernels: BlockedKernels;
  /** Rows n of the step being solved. */
  n: number;
  /** Batch size (columns of the node-major arrays). */
  batch: number;
  /** At least {@link hostWorkspaceArrays} arrays of n·batch floats each. */
  arrays: Float32Array[];
  /** At least {@link hostWorkspaceSmall} arrays of `batch` floats (per-sample coefficients and norms). */
  small: Float32Array[];
}

/** A host solver's answer: `value` is one of the workspace arrays (copy it out before the next solve). */
export type HostSolution = LoopSolution<Float32Array>;

/** A host method's `init`. */
export type HostMethodInit = (f: HostFixedPointMap, x0: Float32Array, options: ResolvedSolverOptions, ws: HostWorkspace) => FixedPointMethod<Float32Array>;

/** A host solve: `init`, then the shared loop. */
export type HostSolver = (f: HostFixedPointMap, x0: Float32Array, options: ResolvedSolverOptions, ws: HostWorkspace) => HostSolution;

/** How many step-sized (n·batch) arrays a method needs in its workspace. */
export function hostWorkspaceArrays(options: ResolvedSolverOptions): number {
  // Picard: x, f(x), the damped next iterate.
  if (options.method === 'picard') return 3;
  // Auto: Anderson's arrays, then Picard's three after them (src/solvers/adaptive.ts).
  if (options.method === 'auto') return hostWorkspaceArrays({ ...options, method: 'anderson' }) + 3;
  // Anderson: x, next, g, r, prevX, prevG, prevR, a temporary; ΔG and ΔR histories; ΔX only when β ≠ 1.
  return ANDERSON_FIXED_ARRAYS + options.memory * (options.beta === 1 ? 2 : 3);
}

/** Anderson's fixed (non-history) step-sized arrays, see {@link hostWorkspaceArrays}. */
export const ANDERSON_FIXED_ARRAYS = 8;

/** How many batch-sized arrays a method needs: Anderson's γ and its new Gram row (m each), then the two squared norms of the residual check. */
export function hostWorkspaceSmall(options: ResolvedSolverOptions): number {
  return 2 * options.memory + 2;
}

/**
 * The per-row relative residual of the host engine: ‖r_b‖ / (‖x_b‖ + 1e-8) with
 * both squared norms summed in float64 by the kernels (`dotRows`); NaN for a row
 * whose norm is not finite. Uses the last two small arrays of the workspace.
 */
export function hostRowResiduals(ws: HostWorkspace, r: Float32Array, x: Float32Array, out: Float64Array): void {
  relativeResiduals(ws, out, (r2, x2) => {
    ws.kernels.queueDotRows(r, r, r2);
    ws.kernels.queueDotRows(x, x, x2);
    ws.kernels.runDotRows();
  });
}

/**
 * {@link hostRowResiduals} of the residual r = f(x) − x without forming it: both squared
 * norms in one kernel pass over `fx` and `x` (`residualNorms`, the same bits as computing
 * r with addMul and then the two dot products).
 */
export function hostStepResiduals(ws: HostWorkspace, fx: Float32Array, x: Float32Array, out: Float64Array): void {
  relativeResiduals(ws, out, (r2, x2) => ws.kernels.residualNorms(fx, x, r2, x2));
}

/** `out[b]` = the relative residual from the squared norms that `sums` adds into two zeroed small arrays of the workspace. */
function relativeResiduals(ws: HostWorkspace, out: Float64Array, sums: (r2: Float32Array, x2: Float32Array) => void): void {
  const { batch: B, small } = ws;
  const r2 = small[small.length - 2].fill(0);
  const x2 = small[small.length - 1].fill(0);
  sums(r2, x2);
  for (let b = 0; b < B; b++) out[b] = relativeResidual(r2[b], x2[b]);
}

/** Wraps a host method's `init` into a solve with the shared loop. */
export function hostSolver(init: HostMethodInit): HostSolver {
  return (f, x0, options, ws) => solveFixedPoint(init(f, x0, options, ws), options);
}
