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
