/** Seeded uniform generators (a 32-bit LCG), for test data that is the same on every run. */

/** Seeded LCG in [0, 1). */
export function rng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s / 4294967296;
  };
}

/** A seeded uniform generator on [-0.5, 0.5): the draws of `rng(seed)` minus 0.5. */
export function centeredRng(seed: number): () => number {
  const r = rng(seed);
  return () => r() - 0.5;
}
