/**
 * The timing helpers of the benchmarks: medians of repeated runs after a warm-up
 * (bench/step.ts keeps its own copy: it is copied into older checkouts for A/B runs).
 */

/** The median of `a` (the upper one for an even length). */
export const median = (a: number[]): number => a.slice().sort((x, y) => x - y)[Math.floor(a.length / 2)];

/** Median wall time of `fn` in ms over `reps` runs after `warmup` untimed runs. */
export function timeIt(fn: () => void, reps: number, warmup: number): number {
  for (let i = 0; i < warmup; i++) fn();
  const ts: number[] = [];
  for (let i = 0; i < reps; i++) {
    const t0 = performance.now();
    fn();
    ts.push(performance.now() - t0);
  }
  return median(ts);
}

/**
 * Like {@link timeIt}, with a warm-up of at least `warmup` runs that goes on until
 * `warmMs` have passed (at most 200 runs): with kernel threads the JIT needs ~75–100
 * steps of a small model to reach steady state (a new worker starts cold), against
 * ~20–50 on one thread.
 */
export function timeItWarm(fn: () => void, reps: number, warmup: number, warmMs = 3000): number {
  const t0 = performance.now();
  for (let i = 0; i < 200 && (i < warmup || performance.now() - t0 < warmMs); i++) fn();
  return timeIt(fn, reps, 0);
}
