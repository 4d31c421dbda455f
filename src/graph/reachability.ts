/**
 * Reachability of a directed graph through its condensation: nodes in one strongly
 * connected component reach the same nodes, so one bitset per component over the
 * components it reaches answers "does a reach b" for every pair in O(1). Built in
 * O(p + edges·C/32) for C components, against O(p·(p + edges)/32) for all-pairs
 * hop distances ({@link hopDistances}) when only reachability is needed (the NM
 * excess form charges the edges that would close a cycle, DESIGN.md §2).
 */
import { checkCsr, sccUnchecked } from './tarjan.js';

/** Component-level reachability (see {@link componentReachability}). */
export interface Reachability {
  /** Component id per node (topological order of the condensation). */
  componentOf: Int32Array;
  /** 32-bit words per component row of `bits`. */
  words: number;
  /** Row c, bit d: component c reaches component d (every component reaches itself). */
  bits: Uint32Array;
}

/**
 * Which components reach which, in the graph given in CSR form (sources by row).
 * @example componentReachability(3, Int32Array.of(0, 1, 1, 1), Int32Array.of(1)) // 0 → 1; 2 alone
 */
export function componentReachability(p: number, rowPtr: Int32Array, colIdx: Int32Array): Reachability {
  checkCsr('componentReachability', p, rowPtr, colIdx);
  const { componentOf, components } = sccUnchecked(p, rowPtr, colIdx);
  const count = components.length;
  const words = (count + 31) >>> 5;
  const bits = new Uint32Array(count * words);
  // Every edge runs from a lower to a higher or the same id: fill rows from the last id back.
  for (let c = count - 1; c >= 0; c--) {
    const row = c * words;
    bits[row + (c >>> 5)] |= 1 << (c & 31);
    for (const v of components[c]) {
      for (let e = rowPtr[v], end = rowPtr[v + 1]; e < end; e++) {
        const d = componentOf[colIdx[e]];
        if (d === c || ((bits[row + (d >>> 5)] >>> (d & 31)) & 1) === 1) continue;
        const from = d * words;
        for (let i = 0; i < words; i++) bits[row + i] |= bits[from + i];
      }
    }
  }
  return { componentOf, words, bits };
}

/** True when node `from` reaches node `to` (a node reaches itself). */
export function reaches(r: Reachability, from: number, to: number): boolean {
  const a = r.componentOf[from];
  const b = r.componentOf[to];
  return ((r.bits[a * r.words + (b >>> 5)] >>> (b & 31)) & 1) === 1;
}
