/**
 * The host engine's reuse pool for the forward state: copies hold the source's values,
 * a released array is handed out again for a copy of its length, other lengths get new
 * arrays, and the pool keeps no more than its byte cap.
 */
import { describe, expect, it } from 'vitest';
import { copyOf, pooledBytes, POOL_BYTES, release } from '../src/layers/neural_module/engine/host_buffers.js';

describe('host engine reuse pool', () => {
  it('copies, and reuses a released array of the same length only', () => {
    const src = Float32Array.from({ length: 1000 }, (_, i) => i / 7);
    const a = copyOf(src);
    expect(a).not.toBe(src);
    expect(Array.from(a)).toEqual(Array.from(src));
    const before = pooledBytes();
    release(a);
    expect(pooledBytes()).toBe(before + a.byteLength);
    release(a); // a second hand-back of the same array is ignored
    expect(pooledBytes()).toBe(before + a.byteLength);
    const other = copyOf(new Float32Array(999));
    expect(other).not.toBe(a);
    const next = Float32Array.from({ length: 1000 }, (_, i) => -i);
    const b = copyOf(next);
    expect(b).toBe(a);
    expect(Array.from(b)).toEqual(Array.from(next));
    expect(pooledBytes()).toBe(before);
  });

  it('keeps at most POOL_BYTES', () => {
    const big = new Float32Array(POOL_BYTES / 4 + 4);
    const before = pooledBytes();
    release(big);
    expect(pooledBytes()).toBe(before);
  });
});
