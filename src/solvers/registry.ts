/**
 * Solver lookup by name and option resolution. An unknown name fails with the list
 * of valid names; every option is validated once and filled with its default.
 */
import { checkInt, checkKeys, checkNumber, checkOneOf, fail } from '../utils/errors.js';
import { broyden } from './broyden.js';
import { newton } from './newton.js';
import { picard } from './picard.js';
import { adaptiveMethod } from './adaptive.js';
import { anderson, andersonMethod } from './anderson.js';
import { hostAnderson, hostAndersonMethod } from './host_anderson.js';
import { hostPicard, hostPicardMethod } from './host_picard.js';
import { hostSolver, hostWorkspaceArrays, type HostSolver } from './host_types.js';
import { solveFixedPoint } from './loop.js';
import { picardMethod } from './picard.js';
import { SOLVER_NAMES, type FixedPointSolver, type ResolvedSolverOptions, type SolverConfig, type SolverName } from './solver_types.js';

/** `'auto'` on the tensor engine: tensor Picard, then tensor Anderson (src/solvers/adaptive.ts). */
const auto: FixedPointSolver = (f, x0, o) =>
  solveFixedPoint(
    adaptiveMethod(
      picardMethod(f, x0, o),
      (x) => andersonMethod(f, x, o),
      (x) => x.dispose(),
      o.switchRatio,
    ),
    o,
  );

const SOLVERS: Record<SolverName, FixedPointSolver> = { picard, anderson, broyden, newton, auto };

/** `'auto'` on the host: Picard on the workspace arrays after Anderson's, so the hand-over never aliases. */
const hostAuto: HostSolver = hostSolver((f, x0, o, ws) => {
  const andersonArrays = hostWorkspaceArrays({ ...o, method: 'anderson' });
  return adaptiveMethod(
    hostPicardMethod(f, x0, o, { ...ws, arrays: ws.arrays.slice(andersonArrays) }),
    (x) => hostAndersonMethod(f, x, o, ws),
    () => {},
    o.switchRatio,
  );
});

/** Methods the host engine (typed arrays on cpu/wasm) implements. */
export const HOST_SOLVER_NAMES = ['picard', 'anderson', 'auto'] as const;
const HOST_SOLVERS: Record<(typeof HOST_SOLVER_NAMES)[number], HostSolver> = { picard: hostPicard, anderson: hostAnderson, auto: hostAuto };

/** The host solver registered under `name` (picard or anderson). */
export function getHostSolver(name: string, where = 'getHostSolver'): HostSolver {
  return HOST_SOLVERS[checkOneOf(where, 'method', name, HOST_SOLVER_NAMES)];
}

/**
 * Default solver options (method `'auto'`: Picard, then Anderson when the contraction is
 * slow; tol 1e-4, maxIter 50). `'auto'` replaced `'anderson'` as the default: the same
 * answers to the same tolerance, 14–16 % less time per training step at p = 300 and
 * 3000 (docs/PERFORMANCE.md, `npm run bench:levers`).
 */
export const DEFAULT_SOLVER: ResolvedSolverOptions = {
  method: 'auto',
  tol: 1e-4,
  maxIter: 50,
  checkEvery: 1,
  damping: 1,
  memory: 5,
  beta: 1,
  lambda: 1e-4,
  switchRatio: 0.5,
};

/** The solver function registered under `name`. */
export function getSolver(name: string, where = 'getSolver'): FixedPointSolver {
  return SOLVERS[checkOneOf(where, 'method', name, SOLVER_NAMES)];
}

/** Validates a solver config and fills in defaults (from `base`, then DEFAULT_SOLVER). */
export function resolveSolverOptions(
  config: SolverConfig | SolverName | undefined,
  where = 'solver',
  base: ResolvedSolverOptions = DEFAULT_SOLVER,
): ResolvedSolverOptions {
  if (config != null && typeof config !== 'string' && (typeof config !== 'object' || Array.isArray(config))) {
    fail(where, 'solver', config, `a method name (${SOLVER_NAMES.map((n) => `'${n}'`).join(', ')}) or an object such as { method: 'anderson', tol: 1e-4 }`);
  }
  const c: SolverConfig = typeof config === 'string' ? { method: config } : { ...(config ?? {}) };
  checkKeys(where, c, Object.keys(DEFAULT_SOLVER));
  const r = { ...base, ...Object.fromEntries(Object.entries(c).filter(([, v]) => v !== undefined)) } as ResolvedSolverOptions;
  checkOneOf(where, 'method', r.method, SOLVER_NAMES);
  checkNumber(where, 'tol', r.tol, 0, Infinity, { lo: true });
  checkInt(where, 'maxIter', r.maxIter, 1, 100000);
  checkInt(where, 'checkEvery', r.checkEvery, 1);
  checkNumber(where, 'damping', r.damping, 0, 1, { lo: true });
  checkInt(where, 'memory', r.memory, 1, 50);
  checkNumber(where, 'beta', r.beta, 0, 1, { lo: true });
  checkNumber(where, 'lambda', r.lambda, 0);
  checkNumber(where, 'switchRatio', r.switchRatio, 0, 1, { lo: true });
  return r;
}
