/**
 * The fixed settings of the methods that run the library's own settings rather than a
 * tuned grid (NM-default, NM-recipe): only the learning rate is drawn, so a trial's
 * configuration does not show what the layer was trained with. Their definitions are
 * versioned here, and the version enters the trial key, so a stored trial is never
 * reused for a changed definition.
 *
 * Changing {@link fixedSettings} means bumping {@link FIXED_SETTINGS_VERSION} (the test
 * of the recorded definitions fails until then).
 */

/** The methods whose regularizer and partition cadence are fixed in code. */
export type FixedMethod = 'NM-default' | 'NM-recipe';

/** What a fixed method trains with, besides the layer defaults and the drawn learning rate. */
export interface FixedSettings {
  /** Arguments of `nm.regularizers.nm`. */
  regularizer: { proximal?: boolean; alpha?: number; l1?: number };
  /** `modulePartition`'s `every`. */
  every: 'batch' | 'epoch';
}

/**
 * The version of each fixed definition. Version 1 keys carry no tag (the trials stored
 * before versioning); from 2 on the key ends its method part with `def<v>`.
 */
export const FIXED_SETTINGS_VERSION: Readonly<Record<FixedMethod, number>> = { 'NM-default': 1, 'NM-recipe': 1 };

export function isFixedMethod(method: string): method is FixedMethod {
  return method === 'NM-default' || method === 'NM-recipe';
}

/**
 * The settings of a fixed method at p nodes. NM-default: the NM regularizer's defaults
 * (excess form, α = 1e-2, penalty in the loss), re-partition every epoch. NM-recipe (the
 * guide's "Structure learning", docs/STRUCTURE.md "A size rule for α and λ"): the excess
 * form as proximal steps with α = 0.1·30/p and a uniform L1 term λ = 0.02·√(30/p),
 * re-partitioned every batch.
 */
export function fixedSettings(method: FixedMethod, nodes: number): FixedSettings {
  if (method === 'NM-default') return { regularizer: {}, every: 'epoch' };
  return { regularizer: { proximal: true, alpha: 0.1 * (30 / nodes), l1: 0.02 * Math.sqrt(30 / nodes) }, every: 'batch' };
}

/** The trial-key tag of a method's definition version: '' for tuned methods and version 1, else `def<v>`. */
export function definitionTag(method: string, versions: Readonly<Record<FixedMethod, number>> = FIXED_SETTINGS_VERSION): string {
  if (!isFixedMethod(method)) return '';
  const v = versions[method];
  return v > 1 ? `def${v}` : '';
}
