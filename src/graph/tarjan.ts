/**
 * Strongly connected components with an iterative Tarjan over CSR typed arrays
 * (no recursion, so no stack limit at p = 3000+). Neural modules are the SCCs of the
 * masked graph (v4 paper, "Neural Modules" definition and Tarjan's algorithm).
 */

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
 * the same component id.
 * @example stronglyConnectedComponents(3, Int32Array.of(0,1,2,3), Int32Array.of(1,0,0))
 */
export function stronglyConnectedComponents(p: number, rowPtr: Int32Array, colIdx: Int32Array): Components {
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
