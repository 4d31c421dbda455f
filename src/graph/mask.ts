/**
 * Magnitude edge mask of a Neural Module graph (DESIGN.md §1, "Edge mask").
 *
 * Keeps the `K = ceil(ρ·p·(p−1))` off-diagonal entries of largest |W[j,k]|
 * (`K = ceil(ρ·p·(p−1)/2)` over the strictly upper triangle for `topology: 'dag'`).
 * γ is the K-th largest magnitude. Exactly K edges are kept (fewer only when fewer
 * candidates are non-zero): every candidate above γ, then those equal to γ in
 * row-major index order; exact zeros are never edges. So the kept set always fits
 * the layer's saved kept-edge state (K indices).
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

/** Histograms of the radix select (module scope: one mask is built at a time). */
const HIGH = new Int32Array(1 << 15);
const LOW = new Int32Array(1 << 16);
const BITS = new Uint32Array(1);
const AS_FLOAT = new Float32Array(BITS.buffer);

/** Whether j→c is a candidate edge: off-diagonal, and above the diagonal for a DAG. */
const firstCandidate = (j: number, topology: Topology) => (topology === 'dag' ? j + 1 : 0);

/**
 * γ (the K-th largest candidate magnitude, K ≥ 1) of a float32 graph by a radix select on
 * the magnitudes' bit patterns (for non-negative floats the order of the bits is the
 * order of the values), and how many candidates lie above it: two passes over the graph
 * instead of a copy and a quickselect. Null when a candidate is NaN, whose order the
 * quickselect defines.
 */
function radixSelect(w: Float32Array, p: number, k: number, topology: Topology): { gamma: number; above: number } | null {
  const bits = new Uint32Array(w.buffer, w.byteOffset, w.length);
  HIGH.fill(0);
  for (let j = 0; j < p; j++) {
    for (let c = firstCandidate(j, topology), i = j * p + c; c < p; c++, i++) {
      const u = bits[i] & 0x7fffffff;
      if (c === j) continue;
      if (u > 0x7f800000) return null;
      HIGH[u >>> 16]++;
    }
  }
  // The bucket of the K-th largest magnitude, then its low 16 bits within that bucket.
  let above = 0;
  let hi = HIGH.length - 1;
  while (above + HIGH[hi] < k) above += HIGH[hi--];
  LOW.fill(0);
  for (let j = 0; j < p; j++) {
    for (let c = firstCandidate(j, topology), i = j * p + c; c < p; c++, i++) {
      const u = bits[i] & 0x7fffffff;
      if (c !== j && u >>> 16 === hi) LOW[u & 0xffff]++;
    }
  }
  let lo = LOW.length - 1;
  while (above + LOW[lo] < k) above += LOW[lo--];
  BITS[0] = ((hi << 16) | lo) >>> 0;
  return { gamma: AS_FLOAT[0], above };
}

/** γ and the candidates above it by a copy of the magnitudes and a quickselect (any input, NaN included). */
function quickSelect(w: ArrayLike<number>, p: number, k: number, topology: Topology): { gamma: number; above: number } {
  const mags = new Float32Array(topology === 'dag' ? (p * (p - 1)) / 2 : p * (p - 1));
  let n = 0;
  for (let j = 0; j < p; j++) {
    for (let c = firstCandidate(j, topology); c < p; c++) if (c !== j) mags[n++] = Math.abs(w[j * p + c]);
  }
  const gamma = kthLargest(mags, k);
  let above = 0;
  for (let i = 0; i < n; i++) if (mags[i] > gamma) above++;
  return { gamma, above };
}

/** Builds the magnitude mask of a p×p row-major graph matrix. */
export function magnitudeMask(w: ArrayLike<number>, p: number, density: number, topology: Topology): EdgeMask {
  const k = keptEdgeCount(p, density, topology);
  const { gamma, above } =
    k === 0 ? { gamma: Infinity, above: 0 } : ((w instanceof Float32Array ? radixSelect(w, p, k, topology) : null) ?? quickSelect(w, p, k, topology));
  let ties = k - above; // candidates equal to γ still to keep, in index order
  const mask = new Uint8Array(p * p);
  const rowPtr = new Int32Array(p + 1);
  const cols = new Int32Array(k); // at most K edges are kept
  let edges = 0;
  for (let j = 0; j < p; j++) {
    for (let c = firstCandidate(j, topology); c < p; c++) {
      if (c === j) continue;
      const v = w[j * p + c];
      const m = Math.fround(Math.abs(v)); // compared in float32, as the magnitudes γ came from
      if (v === 0 || !(m >= gamma)) continue;
      if (m === gamma) {
        if (ties <= 0) continue;
        ties--;
      }
      mask[j * p + c] = 1;
      cols[edges++] = c;
    }
    rowPtr[j + 1] = edges;
  }
  return { p, mask, rowPtr, colIdx: edges === k ? cols : cols.slice(0, edges), edges, gamma: k > 0 ? gamma : 0 };
}

/**
 * The kept edges as K sorted flat indices j·p + k, padded with −1 (the layer's
 * saved kept-edge state; see {@link maskFromIndices}).
 */
export function maskIndices(mask: EdgeMask, k: number): Int32Array {
  const out = new Int32Array(k).fill(-1);
  const { p, rowPtr, colIdx } = mask;
  let i = 0;
  for (let j = 0; j < p && i < k; j++) for (let e = rowPtr[j]; e < rowPtr[j + 1] && i < k; e++) out[i++] = j * p + colIdx[e];
  return out;
}

/**
 * Rebuilds an edge mask from saved kept-edge indices (sorted flat indices, −1
 * padding at the end). Returns an error message instead when the indices are not a
 * valid kept-edge set for p and the topology; γ is the smallest kept magnitude of `w`.
 */
export function maskFromIndices(indices: ArrayLike<number>, p: number, topology: Topology, w: ArrayLike<number>): EdgeMask | string {
  const mask = new Uint8Array(p * p);
  const rowPtr = new Int32Array(p + 1);
  const cols: number[] = [];
  let last = -1;
  let gamma = Infinity;
  for (let i = 0; i < indices.length; i++) {
    const f = indices[i];
    if (f === -1) {
      for (let r = i + 1; r < indices.length; r++) if (indices[r] !== -1) return `index ${indices[r]} at position ${r} follows the −1 padding`;
      break;
    }
    const j = Math.floor(f / p);
    const c = f - j * p;
    if (!Number.isInteger(f) || f < 0 || f >= p * p) return `index ${f} at position ${i} is outside [0, ${p * p})`;
    if (f <= last) return `indices are not strictly increasing at position ${i} (${last}, ${f})`;
    if (c === j || (topology === 'dag' && c < j))
      return `index ${f} at position ${i} is the edge ${j}→${c}, not a ${topology === 'dag' ? 'strictly upper-triangular' : 'off-diagonal'} edge`;
    mask[f] = 1;
    for (let r = last < 0 ? 0 : Math.floor(last / p) + 1; r <= j; r++) rowPtr[r] = cols.length;
    cols.push(c);
    gamma = Math.min(gamma, Math.abs(w[f]));
    last = f;
  }
  for (let r = last < 0 ? 0 : Math.floor(last / p) + 1; r <= p; r++) rowPtr[r] = cols.length;
  return { p, mask, rowPtr, colIdx: Int32Array.from(cols), edges: cols.length, gamma: cols.length > 0 ? gamma : 0 };
}
