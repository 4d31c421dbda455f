/**
 * Views of a tensor's values where the backend keeps them on the host (cpu, wasm),
 * without the copy `dataSync()` makes on the wasm backend, and the other reads of the
 * wasm backend's internals: its memory, a tensor's heap offset and reference count, an
 * allocated but unwritten output.
 *
 * Internals read (test/tfjs_internals.test.ts checks each): tfjs-backend-wasm's
 * `wasm.HEAPU8`, `wasm.asm.memory`, `dataIdMap.get(dataId)` with `memoryOffset` and
 * `refCount`, `makeOutput(shape, dtype)`; tfjs-backend-cpu's `data.get(dataId).values`.
 */
import * as tf from '@tensorflow/tfjs-core';

/**
 * The backend's own storage of a float32 tensor's values, or null where that is not a
 * host array (webgl, tensorflow, a tensor not yet written): on the wasm backend a view
 * of its heap (valid until tfjs allocates again: use it at once), on the cpu backend the
 * array the backend holds.
 *
 * Caveats: tfjs internals (tfjs-backend-wasm's `dataIdMap` and `HEAPU8`, tfjs-backend-cpu's
 * `data`; stable since 2020), checked before use. Writing through the view changes the
 * tensor in place: only do that to a tensor you just created and nothing else holds.
 *
 * @example
 * const view = hostView(t); // Float32Array | null
 */
export function hostView(t: tf.Tensor): Float32Array | null {
  if (t.dtype !== 'float32' || t.isDisposed) return null;
  const name = tf.getBackend();
  if (name === 'wasm') {
    const heap = (tf.backend() as unknown as WasmBackendInternals).wasm?.HEAPU8;
    const at = heapOffset(t);
    if (heap instanceof Uint8Array && at !== null && at + 4 * t.size <= heap.byteLength) {
      return new Float32Array(heap.buffer, heap.byteOffset + at, t.size);
    }
  } else if (name === 'cpu') {
    const b = tf.backend() as unknown as { data?: { get?(id: object): { values?: unknown } | undefined } };
    const values = b.data?.get?.(t.dataId)?.values;
    if (values instanceof Float32Array && values.length === t.size) return values;
  }
  return null;
}

/** The parts of tfjs-backend-wasm the package reads (checked before use). */
export interface WasmBackendInternals {
  wasm?: { HEAPU8?: unknown; asm?: { memory?: unknown } };
  dataIdMap?: { get?(id: object): { memoryOffset?: unknown; refCount?: unknown } | undefined };
}

/**
 * The WebAssembly memory (the heap) of `backend`, a tfjs-backend-wasm instance, or null
 * when that internal is not found.
 *
 * @example
 * const memory = wasmMemory(tf.backend()); // WebAssembly.Memory | null
 */
export function wasmMemory(backend: object): WebAssembly.Memory | null {
  const memory = (backend as WasmBackendInternals).wasm?.asm?.memory;
  return memory instanceof WebAssembly.Memory ? memory : null;
}

/**
 * A new float32 tensor of `shape` whose memory the active wasm backend has allocated but
 * not written (the caller fills every element before anyone reads it): tfjs-backend-wasm's
 * `makeOutput`, made a tensor by the engine.
 *
 * @example
 * const g = uninitializedTensor([p, p]); // then write at heapOffset(g)
 */
export function uninitializedTensor(shape: number[]): tf.Tensor {
  const backend = tf.backend() as unknown as { makeOutput(shape: number[], dtype: 'float32'): tf.TensorInfo };
  return tf.engine().makeTensorFromTensorInfo(backend.makeOutput(shape, 'float32'));
}

/**
 * The wasm backend's bookkeeping of a tensor's data (heap offset, reference count), or
 * undefined on other backends.
 *
 * @example
 * wasmRecord(t)?.refCount; // 1
 */
export function wasmRecord(t: tf.Tensor): { memoryOffset?: unknown; refCount?: unknown } | undefined {
  return (tf.backend() as unknown as WasmBackendInternals).dataIdMap?.get?.(t.dataId);
}

/**
 * The byte offset of a float32 tensor's data in the wasm backend's memory, or null.
 *
 * @example
 * heapOffset(variable); // e.g. 1048576
 */
export function heapOffset(t: tf.Tensor): number | null {
  return offsetOf(t, 'float32');
}

/**
 * The byte offset of an int32 tensor's data in the wasm backend's memory, or null.
 *
 * @example
 * heapOffsetInt32(indexTensor); // e.g. 2097152
 */
export function heapOffsetInt32(t: tf.Tensor): number | null {
  return offsetOf(t, 'int32');
}

function offsetOf(t: tf.Tensor, dtype: 'float32' | 'int32'): number | null {
  const at = wasmRecord(t)?.memoryOffset;
  return t.dtype === dtype && typeof at === 'number' && at % 4 === 0 ? at : null;
}

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

/**
 * A new float32 tensor of `shape` to be written in place, with its view: on the wasm
 * backend an allocated but unwritten output ({@link uninitializedTensor}), so a result is
 * copied into the heap once instead of into a new array and then uploaded; null on other
 * backends (the caller builds its array and uploads it). The view is valid until tfjs
 * allocates again: fetch it with `view()` right before writing.
 *
 * @example
 * const target = hostOutput([batch, p]);
 * const out = target?.view() ?? new Float32Array(batch * p);
 */
export function hostOutput(shape: number[]): { tensor: tf.Tensor; view(): Float32Array } | null {
  if (tf.getBackend() !== 'wasm') return null;
  const backend = tf.backend() as unknown as { makeOutput?: unknown };
  if (typeof backend.makeOutput !== 'function') return null;
  const tensor = uninitializedTensor(shape);
  if (hostView(tensor) === null) {
    tensor.dispose();
    return null;
  }
  return { tensor, view: () => hostView(tensor)! };
}
