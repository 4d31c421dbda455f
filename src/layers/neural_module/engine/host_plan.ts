/**
 * The kept-edge structures of the host engine, built once per partition: the
 * masked graph in permuted node order (DESIGN.md §1), split per solve step into
 * edges that come from earlier steps (constant during the step) and edges inside
 * the step (iterated), once by target for the forward solve x_k = z_k + Σ_j f(x_j)·A[j,k]
 * and once by source for the adjoint solve v_j = q_j + f'(x_j)·Σ_k A[j,k]·v_k.
 * Only the weight values change between calls; they are gathered in one op.
 */
import type { EdgeMask } from '../../../graph/mask.js';
import type { Schedule } from '../../../graph/schedule.js';

/** A compressed sparse row structure over permuted node positions. */
export interface HostCsr {
  /** Row pointers, length p + 1 (rows are permuted positions). */
  ptr: Int32Array;
  /** Column position of each entry (a source for forward structures, a target for adjoint ones). */
  idx: Int32Array;
  /** Index of each entry's weight in the gathered value array. */
  edge: Int32Array;
}

/** Everything the host engine needs about one partition. */
export interface HostPlan {
  schedule: Schedule;
  /** Kept edges. */
  edges: number;
  /** Flat indices (j·p + k) of the kept edges, then of the p diagonal entries (the biases): the weight gather. */
  gatherIndex: Int32Array;
  /** Forward, by target: edges from earlier steps. */
  fwdExt: HostCsr;
  /** Forward, by target: edges inside the target's step. */
  fwdInt: HostCsr;
  /** Adjoint, by source: edges into later steps. */
  adjExt: HostCsr;
  /** Adjoint, by source: edges inside the source's step. */
  adjInt: HostCsr;
  /** Rows of the largest step (bounds the scratch space). */
  maxStepRows: number;
}

/** The entries e with `internal[e] === want`, as CSR by `rows[e]` (entries of a row in ascending e). */
function csrOf(p: number, rows: Int32Array, cols: Int32Array, internal: Uint8Array, want: number): HostCsr {
  const ptr = new Int32Array(p + 1);
  let n = 0;
  for (let e = 0; e < rows.length; e++) {
    if (internal[e] !== want) continue;
    ptr[rows[e] + 1]++;
    n++;
  }
  for (let q = 0; q < p; q++) ptr[q + 1] += ptr[q];
  const fill = ptr.slice(0, p);
  const idx = new Int32Array(n);
  const edge = new Int32Array(n);
  for (let e = 0; e < rows.length; e++) {
    if (internal[e] !== want) continue;
    const at = fill[rows[e]]++;
    idx[at] = cols[e];
    edge[at] = e;
  }
  return { ptr, idx, edge };
}

/** Builds the host structures of a partition. */
export function buildHostPlan(schedule: Schedule, mask: EdgeMask): HostPlan {
  const { p, rowPtr, colIdx, edges: K } = mask;
  const { invPerm } = schedule;
  const stepStart = new Int32Array(p);
  const stepEnd = new Int32Array(p);
  let maxStepRows = 0;
  for (const st of schedule.steps) {
    maxStepRows = Math.max(maxStepRows, st.end - st.start);
    for (let q = st.start; q < st.end; q++) {
      stepStart[q] = st.start;
      stepEnd[q] = st.end;
    }
  }
  const gatherIndex = new Int32Array(K + p);
  const src = new Int32Array(K);
  const dst = new Int32Array(K);
  for (let j = 0; j < p; j++) {
    for (let e = rowPtr[j]; e < rowPtr[j + 1]; e++) {
      gatherIndex[e] = j * p + colIdx[e];
      src[e] = invPerm[j];
      dst[e] = invPerm[colIdx[e]];
    }
  }
  for (let j = 0; j < p; j++) gatherIndex[K + j] = j * (p + 1);
  // Forward: by target; internal when the source is in the target's step.
  const fwdInternal = new Uint8Array(K);
  // Adjoint: by source; internal when the target is in the source's step.
  const adjInternal = new Uint8Array(K);
  for (let e = 0; e < K; e++) {
    fwdInternal[e] = src[e] >= stepStart[dst[e]] ? 1 : 0;
    adjInternal[e] = dst[e] < stepEnd[src[e]] ? 1 : 0;
  }
  return {
    schedule,
    edges: K,
    gatherIndex,
    fwdExt: csrOf(p, dst, src, fwdInternal, 0),
    fwdInt: csrOf(p, dst, src, fwdInternal, 1),
    adjExt: csrOf(p, src, dst, adjInternal, 0),
    adjInt: csrOf(p, src, dst, adjInternal, 1),
    maxStepRows,
  };
}
