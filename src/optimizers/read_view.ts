/**
 * Reading a tensor's values on the host without the copy `dataSync()` makes on the
 * wasm backend (a fresh 36 MB array per p = 3000 graph, which costs as much as the
 * whole fused Adam update).
 */
import * as tf from '@tensorflow/tfjs-core';

/**
 * The values of a float32 tensor, without a copy where the backend allows it: on the
 * wasm backend a view of its heap (valid until tfjs allocates again: use it at once,
 * read-only), elsewhere dataSync() (the cpu backend's own store: read-only too).
 *
 * @example
 * scratch.set(readView(variable)); // one copy, straight from the backend
 */
export function readView(t: tf.Tensor): Float32Array {
  if (tf.getBackend() === 'wasm') {
    // tfjs-backend-wasm internals (stable since 2020), checked before use; dataSync() otherwise.
    const b = tf.backend() as unknown as { dataIdMap?: { get?(id: object): { memoryOffset?: unknown } | undefined }; wasm?: { HEAPU8?: unknown } };
    const rec = b.dataIdMap?.get?.(t.dataId);
    const heap = b.wasm?.HEAPU8;
    const at = rec?.memoryOffset;
    if (heap instanceof Uint8Array && typeof at === 'number' && at % 4 === 0 && at + 4 * t.size <= heap.byteLength) {
      return new Float32Array(heap.buffer, heap.byteOffset + at, t.size);
    }
  }
  return t.dataSync() as Float32Array;
}
