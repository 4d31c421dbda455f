/**
 * The engine registry, in one place: the engines by name, which ones a configuration
 * may use, and which one `engine: 'auto'` picks on the active backend.
 */
import type { ResolvedSolverOptions } from '../../../solvers/solver_types.js';
import { HOST_SOLVER_NAMES } from '../../../solvers/registry.js';
import { fail } from '../../../utils/errors.js';
import { isHostResident } from '../../../backend/capabilities.js';
import { hostEngine } from './host_engine.js';
import { tensorEngine } from './tensor_engine.js';
import type { EngineName, SolveEngine } from './engine_types.js';

/** Every engine, by name. */
const ENGINE_BY_NAME: Readonly<Record<EngineName, SolveEngine>> = { host: hostEngine, tensor: tensorEngine };

/** The values of the `engine` option: `'auto'`, then every engine's name. */
export const ENGINES = ['auto', 'host', 'tensor'] as const satisfies readonly ('auto' | EngineName)[];
/** The `engine` option: a fixed engine, or `'auto'`. */
export type Engine = (typeof ENGINES)[number];

/** What engine selection reads from a layer's options. */
export interface EngineChoiceInput {
  engine: Engine;
  solver: ResolvedSolverOptions;
  backwardSolver: ResolvedSolverOptions;
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
 * host-resident backend (backend/capabilities.ts) when both solvers are host solvers,
 * else the tensor engine. At every density: even with every edge kept (ρ = 1, the DEQ
 * form) the host engine's kernels beat one tfjs op per iteration on cpu and wasm.
 */
export function selectEngine(o: EngineChoiceInput, backend: string): SolveEngine {
  const name: EngineName = o.engine !== 'auto' ? o.engine : hostSolves(o) && isHostResident(backend) ? 'host' : 'tensor';
  return ENGINE_BY_NAME[name];
}
