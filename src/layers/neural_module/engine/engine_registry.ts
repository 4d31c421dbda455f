/**
 * Engine selection, in one place: which engines a configuration may use, and which
 * one `engine: 'auto'` picks on the active backend.
 */
import type { ResolvedSolverOptions } from '../../../solvers/solver_types.js';
import { HOST_SOLVER_NAMES } from '../../../solvers/registry.js';
import { fail } from '../../../utils/errors.js';
import { hostEngine } from './host_engine.js';
import { tensorEngine } from './tensor_engine.js';
import type { EngineName, SolveEngine } from './engine_types.js';

export const ENGINES = ['auto', 'host', 'tensor'] as const;
/** The `engine` option: a fixed engine, or `'auto'`. */
export type Engine = (typeof ENGINES)[number];
/** Above this density `engine: 'auto'` keeps the tensor engine (dense matMul beats sparse kernels there). */
export const AUTO_HOST_MAX_DENSITY = 0.3;
/** Backends whose tensors live in CPU memory, where the host engine reads them for free. */
const CPU_RESIDENT = ['cpu', 'wasm'];

/** What engine selection reads from a layer's options. */
export interface EngineChoiceInput {
  engine: Engine;
  solver: ResolvedSolverOptions;
  backwardSolver: ResolvedSolverOptions;
  density: number;
}

const hostSolves = (o: EngineChoiceInput) => [o.solver, o.backwardSolver].every((s) => (HOST_SOLVER_NAMES as readonly string[]).includes(s.method));

/** Throws a ConfigError when `engine: 'host'` is combined with a solver it does not implement. */
export function checkEngineOptions(where: string, o: EngineChoiceInput): void {
  if (o.engine !== 'host') return;
  for (const [arg, s] of [
    ['solver', o.solver],
    ['backwardSolver', o.backwardSolver],
  ] as const) {
    if (!(HOST_SOLVER_NAMES as readonly string[]).includes(s.method)) {
      fail(
        where,
        `${arg}.method`,
        s.method,
        `one of ${HOST_SOLVER_NAMES.map((n) => `'${n}'`).join(', ')} with engine 'host'`,
        `Use engine 'tensor' or 'auto' for '${s.method}'.`,
      );
    }
  }
}

/**
 * The engine a call uses: the configured one, or for `'auto'` the host engine on a
 * CPU-resident backend (cpu, wasm) when both solvers are host solvers and the
 * density is at most {@link AUTO_HOST_MAX_DENSITY}, else the tensor engine.
 */
export function selectEngine(o: EngineChoiceInput, backend: string): SolveEngine {
  const name: EngineName =
    o.engine !== 'auto' ? o.engine : hostSolves(o) && CPU_RESIDENT.includes(backend) && o.density <= AUTO_HOST_MAX_DENSITY ? 'host' : 'tensor';
  return name === 'host' ? hostEngine : tensorEngine;
}
