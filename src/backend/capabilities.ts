/**
 * What the package may assume of a tfjs backend, in one place: whether its tensors'
 * values live in host memory (so the host engine, the host graph gradient and the
 * fused optimizers can read them as typed arrays without a download), and whether
 * `tf.tensor(array)` copies the array into the backend's own storage or keeps it.
 */
import * as tf from '@tensorflow/tfjs-core';

/**
 * The tfjs backends whose float32 tensors are typed arrays in host memory: 'cpu' (a
 * Float32Array per tensor) and 'wasm' (a range of its WebAssembly heap).
 */
export const HOST_RESIDENT_BACKENDS: readonly string[] = ['cpu', 'wasm'];

/**
 * The backends that keep the typed array given to `tf.tensor` as the tensor's values
 * ('cpu'), so an array handed to them must not be written afterwards. Every other
 * backend copies it into its own storage (wasm: into its heap; webgl, tensorflow: out
 * of host memory).
 */
export const ARRAY_KEEPING_BACKENDS: readonly string[] = ['cpu'];

/**
 * True when `backend` (default: the active one) keeps tensors in host memory.
 *
 * @example
 * if (!isHostResident()) return null; // webgl, tensorflow: use tensor ops
 */
export function isHostResident(backend: string = tf.getBackend()): boolean {
  return HOST_RESIDENT_BACKENDS.includes(backend);
}

/**
 * True when `backend` (default: the active one) copies a typed array given to
 * `tf.tensor`, so the caller may reuse the array at once.
 *
 * @example
 * const t = tf.tensor(copiesOnUpload() ? scratch : scratch.slice(), shape);
 */
export function copiesOnUpload(backend: string = tf.getBackend()): boolean {
  return !ARRAY_KEEPING_BACKENDS.includes(backend);
}
