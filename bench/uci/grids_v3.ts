/**
 * Protocol v3's tuning grids: every method draws from a grid of the same size,
 * {@link V3_GRID_SIZE} configurations, so that a budget of B covers the same fraction
 * B / 16 of every method's grid (protocol v2 gave NN and DEQ 3 of their 4 learning
 * rates and the regularized NM variants 3 of 112 configurations).
 *
 * A method's grid is a 16-point Latin hypercube over its factors: every one of the 16
 * learning rates appears exactly once; density ρ and strength λ / α take each of their
 * 16 levels once; `contractive` (on / off) takes each value 8 times. The pairing of the
 * factors is a fixed seeded permutation per (method, factor), so the grid is the same in
 * every run and is printed by `--dry-run`. A method tuned over the learning rate only
 * (NN, NM-default, NM-recipe, CFF, OPTNET) has the 16 learning rates.
 *
 * Per run, B of the 16 configurations are drawn, stratified by learning rate: the
 * configurations sorted by learning rate are cut into B consecutive blocks and one is
 * drawn from each. The draw is seeded by the run's split and node count only
 * (dataset, nodes, seed), not by the method, so every method of a run tries the same
 * learning-rate ranks.
 *
 * Ranges (widened where protocol v2's selected value sat at a grid edge, docs/RESULTS.md):
 * lr 3e-4…3e-2 (v2: 1e-3…3e-2; unregularized NMs on letter picked 1e-3 in 12 of 20 runs);
 * ρ 0.005…0.2 (v2: 0.01…0.1; NMs on letter picked 0.01, NMs&NM and NMs&NM+sched 0.1);
 * λ, α 1e-4…0.2 (v2: up to 0.1; the papers use α = 0.2, NMs&L1 picked λ = 0.1 in 30 of
 * 100 runs). All levels log-spaced, rounded to two significant digits.
 */
import { Random } from 'tfjs-neural-modules/internal';
import { V3_GRID_SIZE, type MethodName } from './config.js';
import { hashSeed } from './seeded_random.js';

/** A configuration of a v3 grid (fields only where the method has the factor). */
export interface V3Config {
  lr: number;
  density?: number;
  l1?: number;
  alpha?: number;
  /** true: `graphConstraint: nm.constraints.contractive({ bound: 0.9 })`; false: no graph constraint (the papers' layer). */
  contractive?: boolean;
}

/** `n` log-spaced values from `lo` to `hi`, rounded to two significant digits. */
export function logLevels(lo: number, hi: number, n: number): number[] {
  return Array.from({ length: n }, (_, i) => Number((lo * (hi / lo) ** (i / (n - 1))).toPrecision(2)));
}

/** The 16 levels of each continuous factor of protocol v3. */
export const V3_LEVELS = {
  /** Adam learning rate. */
  lr: logLevels(3e-4, 3e-2, V3_GRID_SIZE),
  /** Kept density ρ. */
  density: logLevels(0.005, 0.2, V3_GRID_SIZE),
  /** L1 λ (DAG, NMs&L1) or NM α (NMs&NM, NMs&NM+sched). */
  reg: logLevels(1e-4, 0.2, V3_GRID_SIZE),
} as const;

type Factor = 'density' | 'l1' | 'alpha' | 'contractive';

/** The factors of a method besides the learning rate, under protocol v3. */
export function v3Factors(method: MethodName): Factor[] {
  switch (method) {
    case 'DEQ':
      return ['contractive'];
    case 'DAG':
      return ['density', 'l1']; // acyclic: solved exactly, a contraction changes nothing
    case 'NMs':
      return ['density', 'contractive'];
    case 'NMs&L1':
      return ['density', 'l1', 'contractive'];
    case 'NMs&NM':
    case 'NMs&NM+sched':
      return ['density', 'alpha', 'contractive'];
    default:
      return []; // NN, NM-default, NM-recipe, CFF, OPTNET: the learning rate only
  }
}

function shuffled<T>(xs: readonly T[], rng: Random): T[] {
  const out = xs.slice();
  for (let i = out.length - 1; i > 0; i--) {
    const j = Math.floor(rng.next() * (i + 1));
    [out[i], out[j]] = [out[j], out[i]];
  }
  return out;
}

/** The 16 configurations of `method`'s v3 grid, in learning-rate order (index i has the i-th learning rate). */
export function v3Grid(method: MethodName): V3Config[] {
  const n = V3_GRID_SIZE;
  const columns = v3Factors(method).map((f) => {
    const rng = new Random(hashSeed(`v3-grid|${method}|${f}`));
    const levels: (number | boolean)[] =
      f === 'contractive' ? Array.from({ length: n }, (_, i) => i % 2 === 0) : f === 'density' ? [...V3_LEVELS.density] : [...V3_LEVELS.reg];
    return [f, shuffled(levels, rng)] as const;
  });
  return V3_LEVELS.lr.map((lr, i) => {
    const c: V3Config = { lr };
    for (const [f, col] of columns) (c as unknown as Record<string, number | boolean>)[f] = col[i];
    return c;
  });
}

/** Grid indices of a run's B configurations: one per learning-rate block (see the file comment). */
export function v3DrawIndices(budget: number, drawSeed: number): number[] {
  const n = V3_GRID_SIZE;
  const b = Math.min(budget, n);
  const rng = new Random(drawSeed);
  const out: number[] = [];
  for (let k = 0; k < b; k++) {
    const lo = Math.floor((k * n) / b);
    const hi = Math.floor(((k + 1) * n) / b);
    out.push(lo + Math.floor(rng.next() * (hi - lo)));
  }
  return out;
}

/** The B configurations of `method` for one run (same learning-rate ranks for every method of the run). */
export function v3Configs(method: MethodName, budget: number, run: { dataset: string; nodes: number; seed: number }): V3Config[] {
  const grid = v3Grid(method);
  return v3DrawIndices(budget, hashSeed(`v3|${run.dataset}|${run.nodes}|${run.seed}`)).map((i) => ({ ...grid[i] }));
}

/** The grid of every method as text lines (for --dry-run and the report). */
export function describeV3Grids(methods: readonly MethodName[]): string[] {
  const fmt = (v: readonly number[]) => `${v[0]}…${v[v.length - 1]} (${v.length} log-spaced levels)`;
  return [
    `protocol v3 grids: ${V3_GRID_SIZE} configurations per method (a Latin hypercube: each lr once, each ρ and λ/α level once, contractive on in 8 and off in 8)`,
    `  lr ${fmt(V3_LEVELS.lr)}; ρ ${fmt(V3_LEVELS.density)}; λ, α ${fmt(V3_LEVELS.reg)}`,
    ...methods.map(
      (m) =>
        `  ${m}: ${V3_GRID_SIZE} configurations over lr${v3Factors(m)
          .map((f) => ` × ${f}`)
          .join('')}`,
    ),
  ];
}
