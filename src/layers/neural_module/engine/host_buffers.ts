/**
 * Float32Arrays the host engine reuses between steps for what the forward solve saves for
 * the adjoint (x* and f(x*), `[p, batch]` each). A fresh array of that size costs the
 * operating system's page faults on its first write (about 1 ms per 1.5 MB on the
 * project's VM, as much as a sparse product), a reused one a plain copy. The op hands a
 * forward's arrays back (the engine's `release`) once its adjoint has run; arrays of a
 * forward whose adjoint never runs (inference) are left to the garbage collector.
 *
 * Caveats: a returned array must not be read again by its previous owner. The pool holds
 * at most {@link POOL_BYTES} bytes.
 *
 * @example
 * const saved = copyOf(X);  // instead of X.slice()
 * // … later, when the adjoint is done with it:
 * release(saved);
 */

/** Most bytes the pool keeps for reuse. */
export const POOL_BYTES = 64 * 2 ** 20;

const free: Float32Array[] = [];
let freeBytes = 0;

/** A copy of `src` in an array from the pool (or a new one). */
export function copyOf(src: Float32Array): Float32Array {
  const i = free.findIndex((a) => a.length === src.length);
  let out: Float32Array;
  if (i >= 0) {
    out = free[i];
    free.splice(i, 1);
    freeBytes -= out.byteLength;
  } else {
    out = new Float32Array(src.length);
  }
  out.set(src);
  return out;
}

/** Hands arrays back to the pool (dropped when it is full); their owner must not use them again. */
export function release(...arrays: Float32Array[]): void {
  for (const a of arrays) {
    if (freeBytes + a.byteLength > POOL_BYTES || free.includes(a)) continue;
    free.push(a);
    freeBytes += a.byteLength;
  }
}

/** Bytes held for reuse (for tests). */
export function pooledBytes(): number {
  return freeBytes;
}
