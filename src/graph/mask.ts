/**
 * Magnitude edge mask of a Neural Module graph (DESIGN.md §1, "Edge mask").
 *
 * Keeps the `K = ceil(ρ·p·(p−1))` off-diagonal entries of largest |W[j,k]|
 * (`K = ceil(ρ·p·(p−1)/2)` over the strictly upper triangle for `topology: 'dag'`).
 * γ is the K-th largest magnitude; ties with γ are kept; exact zeros are never edges.
 */
export type Topology = 'graph' | 'dag';

/** A kept-edge set in CSR form plus its threshold. */
export interface EdgeMask {
  p: number;
  /** 1 where the edge j→k (row-major index j·p+k) is kept. */
  mask: Uint8Array;
  /** CSR row pointers (length p+1) over kept edges, by source node. */
  rowPtr: Int32Array;
  /** CSR target nodes. */
  colIdx: Int32Array;
  /** Number of kept off-diagonal edges. */
  edges: number;
  /** The magnitude threshold γ (K-th largest candidate magnitude). */
  gamma: number;
}

/** Number of candidate off-diagonal edges kept at density ρ. */
export function keptEdgeCount(p: number, density: number, topology: Topology): number {
  const candidates = topology === 'dag' ? (p * (p - 1)) / 2 : p * (p - 1);
  return Math.min(candidates, Math.ceil(density * candidates - 1e-9));
}

/** K-th largest value (1-based K) of `a`, reordering `a` in place (quickselect). */
export function kthLargest(a: Float32Array, k: number): number {
  let lo = 0;
  let hi = a.length - 1;
  const target = k - 1; // index in descending order
  let seed = 12345;
  while (lo < hi) {
    seed = (seed * 1103515245 + 12345) & 0x7fffffff;
    const pivot = a[lo + (seed % (hi - lo + 1))];
    let i = lo;
    let j = hi;
    while (i <= j) {
      while (a[i] > pivot) i++;
      while (a[j] < pivot) j--;
      if (i <= j) {
        const t = a[i];
        a[i] = a[j];
        a[j] = t;
        i++;
        j--;
      }
    }
    if (target <= j) hi = j;
    else if (target >= i) lo = i;
    else return a[target];
  }
  return a[target];
}

/** Builds the magnitude mask of a p×p row-major graph matrix. */
export function magnitudeMask(w: ArrayLike<number>, p: number, density: number, topology: Topology): EdgeMask {
  const k = keptEdgeCount(p, density, topology);
  const mags = new Float32Array(topology === 'dag' ? (p * (p - 1)) / 2 : p * (p - 1));
  let n = 0;
  for (let j = 0; j < p; j++) {
    for (let c = topology === 'dag' ? j + 1 : 0; c < p; c++) if (c !== j) mags[n++] = Math.abs(w[j * p + c]);
  }
  const gamma = k > 0 ? kthLargest(mags, k) : Infinity;
  const mask = new Uint8Array(p * p);
  const rowPtr = new Int32Array(p + 1);
  const cols: number[] = [];
  for (let j = 0; j < p; j++) {
    for (let c = topology === 'dag' ? j + 1 : 0; c < p; c++) {
      if (c === j) continue;
      const v = w[j * p + c];
      if (v !== 0 && Math.abs(v) >= gamma) {
        mask[j * p + c] = 1;
        cols.push(c);
      }
    }
    rowPtr[j + 1] = cols.length;
  }
  return { p, mask, rowPtr, colIdx: Int32Array.from(cols), edges: cols.length, gamma: k > 0 ? gamma : 0 };
}
