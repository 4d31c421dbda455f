/**
 * Strongly connected components with an iterative Tarjan over CSR typed arrays
 * (no recursion, so no stack limit at p = 3000+). Neural modules are the SCCs of the
 * masked graph (v4 paper, "Neural Modules" definition and Tarjan's algorithm).
 */
import { ConfigError, checkInt, fail } from '../utils/errors.js';

/**
 * Checks a directed graph in CSR form: `p` an integer >= 0, `rowPtr` an integer
 * array of p + 1 entries rising from 0 to `colIdx.length`, every `colIdx` entry a
 * node id in [0, p). O(p + E). Throws a ConfigError naming `where` and the first
 * bad entry.
 *
 * Caveat: duplicate edges and self loops are allowed (the graph functions accept them).
 *
 * @example checkCsr('myFn', 2, Int32Array.of(0, 1, 1), Int32Array.of(1)) // ok: 0 → 1
 */
export function checkCsr(where: string, p: unknown, rowPtr: unknown, colIdx: unknown): void {
  const n = checkInt(where, 'p', p, 0);
  const isIntArray = (a: unknown): a is ArrayLike<number> => a instanceof Int32Array || a instanceof Uint32Array || Array.isArray(a);
  if (!isIntArray(rowPtr)) fail(where, 'rowPtr', rowPtr, `an Int32Array of p + 1 = ${n + 1} row pointers`);
  if (rowPtr.length !== n + 1) {
    throw new ConfigError(`${where}: 'rowPtr' must have p + 1 = ${n + 1} entries; received ${rowPtr.length}.`);
  }
  if (!isIntArray(colIdx)) fail(where, 'colIdx', colIdx, 'an Int32Array of target node ids');
  const E = colIdx.length;
  // Row pointers rise from 0 to colIdx.length = E.
  for (let v = 0; v <= n; v++) {
    const r = rowPtr[v];
    const lo = v === 0 ? 0 : rowPtr[v - 1];
    const hi = v === 0 ? 0 : E;
    const exact = v === 0 || v === n;
    if (!Number.isInteger(r) || r < (v === n ? E : lo) || r > hi) {
      const expected = exact
        ? `${v === n ? `colIdx.length = ${E}` : 0} (row pointers rise from 0 to colIdx.length)`
        : `an integer in [rowPtr[${v - 1}] = ${lo}, colIdx.length = ${E}] (row pointers rise from 0 to colIdx.length)`;
      fail(where, `rowPtr[${v}]`, r, expected);
    }
  }
  for (let e = 0; e < E; e++) {
    const w = colIdx[e];
    if (!Number.isInteger(w) || w < 0 || w >= n) fail(where, `colIdx[${e}]`, w, `a node id, an integer in [0, ${n - 1}]`);
  }
}

/** SCCs of a directed graph in CSR form. */
export interface Components {
  /** Component id per node; ids are in topological order of the condensation. */
  componentOf: Int32Array;
  /** Nodes per component (ascending), components in topological order. */
  components: number[][];
}

/**
 * Tarjan's algorithm, iterative. Tarjan emits components in reverse topological
 * order; they are renumbered so that every edge goes from a lower to a higher or
 * the same component id. The arguments are checked first ({@link checkCsr}).
 * @example stronglyConnectedComponents(3, Int32Array.of(0,1,2,3), Int32Array.of(1,0,0))
 */
export function stronglyConnectedComponents(p: number, rowPtr: Int32Array, colIdx: Int32Array): Components {
  checkCsr('stronglyConnectedComponents', p, rowPtr, colIdx);
  return sccUnchecked(p, rowPtr, colIdx);
}

/** {@link stronglyConnectedComponents} without the argument checks (callers have checked). */
export function sccUnchecked(p: number, rowPtr: Int32Array, colIdx: Int32Array): Components {
  const index = new Int32Array(p).fill(-1);
  const low = new Int32Array(p);
  const onStack = new Uint8Array(p);
  const stack = new Int32Array(p);
  let sp = 0;
  const callNode = new Int32Array(p);
  const callEdge = new Int32Array(p);
  const emitted: number[][] = [];
  let counter = 0;
  for (let root = 0; root < p; root++) {
    if (index[root] >= 0) continue;
    let depth = 0;
    callNode[0] = root;
    callEdge[0] = rowPtr[root];
    index[root] = low[root] = counter++;
    stack[sp++] = root;
    onStack[root] = 1;
    while (depth >= 0) {
      const v = callNode[depth];
      const e = callEdge[depth];
      if (e < rowPtr[v + 1]) {
        callEdge[depth] = e + 1;
        const w = colIdx[e];
        if (index[w] < 0) {
          index[w] = low[w] = counter++;
          stack[sp++] = w;
          onStack[w] = 1;
          depth++;
          callNode[depth] = w;
          callEdge[depth] = rowPtr[w];
        } else if (onStack[w] && index[w] < low[v]) {
          low[v] = index[w];
        }
        continue;
      }
      if (low[v] === index[v]) {
        const comp: number[] = [];
        let w: number;
        do {
          w = stack[--sp];
          onStack[w] = 0;
          comp.push(w);
        } while (w !== v);
        comp.sort((a, b) => a - b);
        emitted.push(comp);
      }
      depth--;
      if (depth >= 0) {
        const parent = callNode[depth];
        if (low[v] < low[parent]) low[parent] = low[v];
      }
    }
  }
  const components = emitted.reverse();
  const componentOf = new Int32Array(p);
  components.forEach((c, i) => c.forEach((node) => (componentOf[node] = i)));
  return { componentOf, components };
}
