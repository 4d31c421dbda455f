/**
 * Replacing a kernel in tfjs-core's process-wide kernel registry with a wrapper of it,
 * and putting the original back (`nm.backend.fastTransposedMatMul` wraps the wasm
 * backend's matrix products this way).
 *
 * tfjs-core's assumptions (test/tfjs_internals.test.ts checks them): `getKernel`,
 * `unregisterKernel` and `registerKernel` read and replace the kernel that later ops
 * run, per kernel name and backend name.
 */
import * as tf from '@tensorflow/tfjs-core';

/** The original kernel configs, per `${backend}|${kernel}`, while a wrapper is registered. */
const originals = new Map<string, tf.KernelConfig>();
/** The kernel functions registered here, to tell them from tfjs' own (or anyone else's). */
const wrappers = new WeakSet<tf.KernelFunc>();

/** True when `kernel` is a wrapper registered by {@link wrapKernel}. */
export function isKernelWrapper(kernel: tf.KernelConfig | undefined): boolean {
  return kernel != null && wrappers.has(kernel.kernelFunc);
}

/**
 * Registers `makeWrapper(original)` in place of the kernel `kernelName` of `backendName`,
 * remembering the original. Does nothing when no such kernel is registered or when it
 * already is a wrapper.
 *
 * @example
 * wrapKernel(tf.BatchMatMul, 'wasm', (original) => (args) => original.kernelFunc(args));
 */
export function wrapKernel(kernelName: string, backendName: string, makeWrapper: (original: tf.KernelConfig) => tf.KernelFunc): void {
  const current = tf.getKernel(kernelName, backendName);
  if (!current || isKernelWrapper(current)) return;
  originals.set(`${backendName}|${kernelName}`, current);
  const kernelFunc = makeWrapper(current);
  wrappers.add(kernelFunc);
  tf.unregisterKernel(kernelName, backendName);
  tf.registerKernel({ ...current, kernelFunc });
}

/**
 * Registers again the kernel that {@link wrapKernel} replaced. A kernel someone else
 * registered over the wrapper stays: only the wrapper is taken off.
 */
export function unwrapKernel(kernelName: string, backendName: string): void {
  const key = `${backendName}|${kernelName}`;
  const saved = originals.get(key);
  originals.delete(key);
  if (!isKernelWrapper(tf.getKernel(kernelName, backendName)) || !saved) return;
  tf.unregisterKernel(kernelName, backendName);
  tf.registerKernel(saved);
}
