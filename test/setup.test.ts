/**
 * test/setup.ts: tfjs' "install our node backend" banner is not printed during the tests,
 * and production mode changes no result.
 */
import * as tf from '@tensorflow/tfjs-core';
import { MathBackendCPU } from '@tensorflow/tfjs-backend-cpu';
import { describe, expect, it, vi } from 'vitest';

describe('test setup', () => {
  it("silences tfjs' Node banner (a fresh cpu backend's first write prints nothing)", () => {
    expect(tf.env().getBool('IS_NODE')).toBe(true);
    expect(tf.env().getBool('PROD')).toBe(true);
    const warn = vi.spyOn(console, 'warn');
    const backend = new MathBackendCPU();
    try {
      backend.write(Float32Array.of(1, 2), [2], 'float32');
      expect(warn.mock.calls.map((c) => String(c[0])).filter((m) => m.includes('looks like you are running TensorFlow.js in Node.js'))).toEqual([]);
    } finally {
      backend.dispose();
      warn.mockRestore();
    }
  });
});
