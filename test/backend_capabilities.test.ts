/**
 * backend/capabilities.ts states what the host engine, the host graph gradient and the
 * fused optimizers assume of a backend; these tests check each statement against what
 * the backend really does.
 */
import * as tf from '@tensorflow/tfjs';
import { describe, expect, it } from 'vitest';
import { copiesOnUpload, HOST_RESIDENT_BACKENDS, isHostResident } from '../src/backend/capabilities.js';
import { hostView } from '../src/tfjs_internals/host_view.js';
import { BACKENDS, useBackend } from './helpers/backends.js';

describe('backend capabilities', () => {
  it('names cpu and wasm as the host-resident backends, and no GPU or native backend', () => {
    expect([...HOST_RESIDENT_BACKENDS].sort()).toEqual(['cpu', 'wasm']);
    for (const name of ['webgl', 'webgpu', 'tensorflow']) expect(isHostResident(name), name).toBe(false);
  });

  for (const name of BACKENDS) {
    it(`${name}: the values of a float32 tensor are readable in host memory`, async () => {
      await useBackend(name);
      expect(isHostResident(), 'the active backend by default').toBe(true);
      const t = tf.tensor1d([1.5, -2, 3]);
      const view = hostView(t);
      expect(view === null ? null : Array.from(view)).toEqual([1.5, -2, 3]);
      t.dispose();
    });

    it(`${name}: tf.tensor ${copiesOnUpload(name) ? 'copies' : 'keeps'} the array it is given, as copiesOnUpload says`, async () => {
      await useBackend(name);
      const values = new Float32Array([1, 2, 3]);
      const t = tf.tensor1d(values);
      values[0] = 99;
      const seen = t.dataSync()[0];
      t.dispose();
      expect(seen).toBe(copiesOnUpload() ? 1 : 99);
      expect(copiesOnUpload()).toBe(copiesOnUpload(name));
    });
  }

  it('every backend except cpu copies (the GPU and native backends upload)', () => {
    expect(copiesOnUpload('cpu')).toBe(false);
    for (const name of ['wasm', 'webgl', 'tensorflow']) expect(copiesOnUpload(name), name).toBe(true);
  });
});
