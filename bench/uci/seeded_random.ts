/**
 * Runs a function with `Math.random` replaced by a seeded generator, so that
 * tfjs' unseeded initializers and `fit`'s shuffling (both draw from Math.random)
 * are reproducible for a benchmark run. Restored afterwards, even on errors.
 * One run at a time: the replacement is process-wide.
 */
import { Random } from 'tfjs-neural-modules/internal';

export async function withSeededRandom<T>(seed: number, fn: () => Promise<T>): Promise<T> {
  const original = Math.random;
  const rng = new Random(seed);
  Math.random = () => rng.next();
  try {
    return await fn();
  } finally {
    Math.random = original;
  }
}

/** A stable 31-bit hash of a string (FNV-1a), to derive per-run seeds. */
export function hashSeed(text: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    h ^= text.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return (h >>> 0) & 0x7fffffff;
}
