/**
 * All-pairs hop distances of a directed graph in CSR form, by breadth-first search
 * from every node (O(p·(p + E)) time, p² memory). The repulsion form of the NM
 * regularizer needs them (shared/DESIGN.md §2; neural-modules-v4, §3.5, the
 * distance matrix of eq. 7): the edge j→k closes a cycle of length `D[k→j] + 1`.
 *
 * When to use: for graphs up to a few thousand nodes (the p² result is 18 MB at
 * p = 3000). The searches run 32 sources at a time with one bit per source
 * (multi-source BFS, Then et al., VLDB 2014): every edge is scanned once per level
 * for up to 32 searches together, which keeps the same O(p·(p + E)) bound and is
 * several times faster than 32 separate searches on the graphs the layer produces.
 *
 * Caveats: distances are counted in edges (hops), unweighted; the distance from a
 * node to itself is 0 (a self loop does not change that); nodes must number fewer
 * than 65535, and unreachable pairs hold {@link UNREACHABLE}. The CSR arguments are
 * checked first (O(p + E)); a ConfigError names the first bad entry.
 *
 * @example
 * // 0 → 1 → 2
 * const d = hopDistances(3, Int32Array.of(0, 1, 2, 2), Int32Array.of(1, 2));
 * d[0 * 3 + 2]; // 2
 * d[2 * 3 + 0]; // UNREACHABLE
 */
import { ConfigError } from '../utils/errors.js';
import { checkCsr } from './tarjan.js';

/** The value of an unreachable pair in {@link hopDistances}' result. */
export const UNREACHABLE = 0xffff;

/**
 * Hop distances from every node: `d[s·p + t]` is the number of edges on a shortest
 * path s → t, 0 when s = t, {@link UNREACHABLE} when there is none.
 * @param p number of nodes (< 65535)
 * @param rowPtr CSR row pointers (length p + 1), edges grouped by source node
 * @param colIdx CSR target nodes
 */
export function hopDistances(p: number, rowPtr: Int32Array, colIdx: Int32Array): Uint16Array {
  if (!Number.isInteger(p) || p < 0 || p >= UNREACHABLE) {
    throw new ConfigError(`hopDistances: 'p' must be an integer in [0, ${UNREACHABLE - 1}]; received ${p}.`);
  }
  // rowPtr rising from 0 to colIdx.length and every target in [0, p): an
  // out-of-range id would otherwise index past the typed arrays and give garbage.
  checkCsr('hopDistances', p, rowPtr, colIdx);
  const dist = new Uint16Array(p * p).fill(UNREACHABLE);
  // Per node: which of the (up to 32) current sources have reached it, are on the
  // current frontier, and reach it in the next level.
  const seen = new Int32Array(p);
  const frontier = new Int32Array(p);
  const next = new Int32Array(p);
  // Nodes whose `frontier` / `next` word is non-zero, each listed once.
  let cur = new Int32Array(p);
  let nxt = new Int32Array(p);
  const listed = new Uint8Array(p);
  for (let base = 0; base < p; base += 32) {
    const batch = Math.min(32, p - base);
    seen.fill(0);
    frontier.fill(0);
    let curLen = 0;
    for (let b = 0; b < batch; b++) {
      const s = base + b;
      const bit = 1 << b;
      seen[s] |= bit;
      frontier[s] |= bit;
      dist[s * p + s] = 0;
      cur[curLen++] = s;
    }
    let level = 0;
    while (curLen > 0) {
      level++;
      let nxtLen = 0;
      for (let i = 0; i < curLen; i++) {
        const v = cur[i];
        const bits = frontier[v];
        frontier[v] = 0;
        for (let e = rowPtr[v], end = rowPtr[v + 1]; e < end; e++) {
          const w = colIdx[e];
          const fresh = bits & ~seen[w] & ~next[w];
          if (fresh === 0) continue;
          next[w] |= fresh;
          if (listed[w] === 0) {
            listed[w] = 1;
            nxt[nxtLen++] = w;
          }
        }
      }
      for (let i = 0; i < nxtLen; i++) {
        const w = nxt[i];
        listed[w] = 0;
        let bits = next[w];
        next[w] = 0;
        seen[w] |= bits;
        frontier[w] = bits;
        while (bits !== 0) {
          const low = bits & -bits;
          const b = 31 - Math.clz32(low);
          dist[(base + b) * p + w] = level;
          bits ^= low;
        }
      }
      const t = cur;
      cur = nxt;
      nxt = t;
      curLen = nxtLen;
    }
  }
  return dist;
}
