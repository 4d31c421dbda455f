/**
 * Reading a tensor's values on the host without the copy `dataSync()` makes on the
 * wasm backend (a fresh 36 MB array per p = 3000 graph, which costs as much as the
 * whole fused Adam update).
 */
import type * as tf from '@tensorflow/tfjs-core';
import { hostView } from '../backend/host_view.js';

/**
 * The values of a float32 tensor, without a copy where the backend allows it: on the
 * wasm backend a view of its heap (valid until tfjs allocates again: use it at once,
 * read-only), elsewhere dataSync() (the cpu backend's own store: read-only too).
 *
 * @example
 * scratch.set(readView(variable)); // one copy, straight from the backend
 */
export function readView(t: tf.Tensor): Float32Array {
  return hostView(t) ?? (t.dataSync() as Float32Array);
}
