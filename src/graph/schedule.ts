/**
 * The solve schedule of a masked graph: modules (SCCs) grouped by condensation
 * level, nodes permuted so that every level is a contiguous range (DESIGN.md §1).
 *
 * In permuted order the active graph is block upper triangular: edges go from a
 * level to the same or a later level, and within a level only inside a module.
 * Each level becomes at most two solve steps: its singletons (explicit, no
 * iteration) and its modules of size ≥ 2 (solved together as one block-diagonal
 * fixed point).
 */
import type { EdgeMask } from './mask.js';
import { fail } from '../utils/errors.js';
import { checkCsr, sccUnchecked } from './tarjan.js';

/** One contiguous range of permuted nodes solved at once. */
export interface SolveStep {
  /** First permuted position of the step. */
  start: number;
  /** One past the last permuted position. */
  end: number;
  /** False for a range of singletons (computed explicitly). */
  iterative: boolean;
  /** Module ranges relative to `start` (block-diagonal structure of the step). */
  blocks: Array<[number, number]>;
  /** Condensation level the step belongs to. */
  level: number;
}

/** Modules, levels and the permuted solve order of a masked graph. */
export interface Schedule {
  p: number;
  /** Node ids per module, modules in topological order (by level). */
  modules: number[][];
  /** Module indices per level. */
  levels: number[][];
  moduleSizes: number[];
  largestModule: number;
  /** Permuted position → node id. */
  perm: Int32Array;
  /** Node id → permuted position. */
  invPerm: Int32Array;
  steps: SolveStep[];
}

/**
 * Builds the schedule of an edge mask (Tarjan, then longest-path levels).
 *
 * Only the CSR part of the mask (`p`, `rowPtr`, `colIdx`) is read, and checked first
 * (a ConfigError names the first bad entry). Everything is loops over typed arrays
 * (no recursion, no argument spreading), so graphs of hundreds of thousands of
 * nodes or components are fine.
 *
 * @example buildSchedule(magnitudeMask(W, p, 0.1, 'graph')).largestModule
 */
export function buildSchedule(mask: EdgeMask): Schedule {
  const where = 'buildSchedule';
  if (mask == null || typeof mask !== 'object') fail(where, 'mask', mask, 'an edge mask { p, rowPtr, colIdx, ... } (layer.edges())');
  const { p, rowPtr, colIdx } = mask;
  checkCsr(where, p, rowPtr, colIdx);
  const { componentOf, components } = sccUnchecked(p, rowPtr, colIdx);
  const nc = components.length;
  const level = new Int32Array(nc);
  for (let c = 0; c < nc; c++) {
    for (const v of components[c]) {
      for (let e = rowPtr[v]; e < rowPtr[v + 1]; e++) {
        const c2 = componentOf[colIdx[e]];
        if (c2 !== c && level[c2] < level[c] + 1) level[c2] = level[c] + 1;
      }
    }
  }
  // A loop, not Math.max(...level): spreading 130k+ arguments overflows the stack.
  let numLevels = 0;
  for (let c = 0; c < nc; c++) if (level[c] + 1 > numLevels) numLevels = level[c] + 1;
  const byLevel: number[][] = Array.from({ length: numLevels }, () => []);
  for (let c = 0; c < nc; c++) byLevel[level[c]].push(c);

  const modules: number[][] = [];
  const levels: number[][] = [];
  const steps: SolveStep[] = [];
  const perm = new Int32Array(p);
  let pos = 0;
  byLevel.forEach((comps, lv) => {
    const singles = comps.filter((c) => components[c].length === 1);
    const multi = comps.filter((c) => components[c].length > 1);
    const ids: number[] = [];
    for (const group of [singles, multi]) {
      if (group.length === 0) continue;
      const start = pos;
      const blocks: Array<[number, number]> = [];
      for (const c of group) {
        ids.push(modules.length);
        modules.push(components[c]);
        blocks.push([pos - start, pos - start + components[c].length]);
        for (const v of components[c]) perm[pos++] = v;
      }
      steps.push({ start, end: pos, iterative: group === multi, blocks, level: lv });
    }
    levels.push(ids);
  });
  const invPerm = new Int32Array(p);
  perm.forEach((v, i) => (invPerm[v] = i));
  const moduleSizes = modules.map((m) => m.length);
  let largestModule = 0;
  for (const size of moduleSizes) if (size > largestModule) largestModule = size;
  return { p, modules, levels, moduleSizes, largestModule, perm, invPerm, steps };
}

/**
 * The module of every node: `labels[j]` is the index in `modules` of the module that holds
 * node j (`modules`: node ids per module, singletons included, as in a layer's
 * `structure().modules`).
 *
 * When to use: to compare partitions with `nm.analysis.adjustedRandIndex`, or to look up a
 * node's module. Caveat: a node in no module keeps label 0.
 *
 * @example
 * const ari = nm.analysis.adjustedRandIndex(nm.analysis.moduleLabels(a.structure().modules), nm.analysis.moduleLabels(b.structure().modules));
 */
export function moduleLabels(modules: readonly (readonly number[])[]): Int32Array {
  const labels = new Int32Array(modules.reduce((n, m) => n + m.length, 0));
  modules.forEach((nodes, i) => nodes.forEach((j) => (labels[j] = i)));
  return labels;
}
