/**
 * The fixed settings of the methods that run the library's own settings rather than a
 * tuned grid (NM-default, NM-recipe): only the learning rate is drawn, so a trial's
 * configuration does not show what the layer was trained with. Their definitions are
 * versioned here, and the version enters the trial key wherever it changes the settings,
 * so a stored trial is never reused for a changed definition.
 *
 * A changed definition is appended to {@link FIXED_DEFINITIONS} as a new version (the
 * test of the recorded definitions fails when one is edited in place).
 */

/** The methods whose regularizer and partition cadence are fixed in code. */
export type FixedMethod = 'NM-default' | 'NM-recipe';

/** What a fixed method trains with, besides the layer defaults and the drawn learning rate. */
export interface FixedSettings {
  /** Arguments of `nm.regularizers.nm`. */
  regularizer: { proximal?: boolean; alpha?: number; l1?: number };
  /** `modulePartition`'s `every`. */
  every: 'batch' | 'epoch';
  /** The layer's `density`; absent: 0.05 (the layer default when the version-1 trials ran). */
  density?: number;
}

/** The density an absent {@link FixedSettings.density} means: the layer default when the version-1 trials ran. */
export const LAYER_DENSITY = 0.05;

/**
 * Every definition of each fixed method, oldest first (index v − 1 is version v). A new
 * definition is appended, never edited in place: trials stored under a version keep
 * meaning what they trained.
 *
 * NM-default v1: the NM regularizer's defaults (excess form, α = 1e-2, penalty in the
 * loss), re-partition every epoch, the layer's density default of then (0.05). NM-default
 * v2: the same at the layer's present density default, min(0.05, 5/(p − 1)). Densities are
 * given explicitly (absent: 0.05), so a definition does not depend on the code it runs
 * with. NM-recipe v1 (the guide's "Structure learning",
 * docs/STRUCTURE.md "A size rule for α and λ"): the excess form as proximal steps with
 * α = 0.1·30/p and a uniform L1 term λ = 0.02·√(30/p), re-partitioned every batch.
 * NM-recipe v2: v1 with the density rule ρ = min(0.05, 5/(p − 1)) (at most about 5 kept
 * edges per node; docs/STRUCTURE.md "A density rule for larger layers"), which changes
 * only layers of more than 100 nodes.
 */
/** The density rule of version 2: at most about 5 kept edges per node (the layer's default since). */
const densityRule = (p: number) => Math.min(LAYER_DENSITY, 5 / (p - 1));
/** NM-recipe's regularizer: the size rule for α and λ. */
const sizeRule = (p: number) => ({ proximal: true, alpha: 0.1 * (30 / p), l1: 0.02 * Math.sqrt(30 / p) });

export const FIXED_DEFINITIONS: Readonly<Record<FixedMethod, readonly ((nodes: number) => FixedSettings)[]>> = {
  'NM-default': [() => ({ regularizer: {}, every: 'epoch' }), (p) => ({ regularizer: {}, every: 'epoch', density: densityRule(p) })],
  'NM-recipe': [(p) => ({ regularizer: sizeRule(p), every: 'batch' }), (p) => ({ regularizer: sizeRule(p), every: 'batch', density: densityRule(p) })],
};

/** The version of each fixed definition in use (the newest in {@link FIXED_DEFINITIONS}). */
export const FIXED_SETTINGS_VERSION: Readonly<Record<FixedMethod, number>> = {
  'NM-default': FIXED_DEFINITIONS['NM-default'].length,
  'NM-recipe': FIXED_DEFINITIONS['NM-recipe'].length,
};

export function isFixedMethod(method: string): method is FixedMethod {
  return method === 'NM-default' || method === 'NM-recipe';
}

/** The settings of a fixed method at p nodes: its definition at `version` (default: the one in use). */
export function fixedSettings(method: FixedMethod, nodes: number, version = FIXED_SETTINGS_VERSION[method]): FixedSettings {
  const def = FIXED_DEFINITIONS[method][version - 1];
  if (def === undefined) throw new Error(`${method} has no definition version ${version} (versions 1–${FIXED_DEFINITIONS[method].length})`);
  return def(nodes);
}

/** Whether two settings train the same layer: the same values, an absent density being the layer default. */
function sameSettings(a: FixedSettings, b: FixedSettings): boolean {
  const resolved = (s: FixedSettings) =>
    JSON.stringify([s.every, s.density ?? LAYER_DENSITY, s.regularizer.proximal ?? false, s.regularizer.alpha ?? null, s.regularizer.l1 ?? null]);
  return resolved(a) === resolved(b);
}

/**
 * The trial-key tag of a method's definition at p nodes: '' for tuned methods, else that of
 * the oldest version whose settings at p equal those of `versions[method]` ('' for version
 * 1, else `def<v>`). So a new version re-keys only the node counts it changes, and trials
 * stored at the others are reused.
 */
export function definitionTag(method: string, nodes: number, versions: Readonly<Record<FixedMethod, number>> = FIXED_SETTINGS_VERSION): string {
  if (!isFixedMethod(method)) return '';
  const current = fixedSettings(method, nodes, versions[method]);
  let v = 1;
  while (v < versions[method] && !sameSettings(fixedSettings(method, nodes, v), current)) v++;
  return v > 1 ? `def${v}` : '';
}
