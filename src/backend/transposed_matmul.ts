/**
 * `nm.backend.fastTransposedMatMul()`: an opt-in fix for tfjs-wasm's slow transposed
 * matrix products (issue 15, lever 5).
 *
 * tfjs-backend-wasm 4.x runs `matMul(a, b, transposeA, transposeB)` with a transposed
 * operand 10–25× slower than transposing that operand first and multiplying plainly
 * (measured at the shapes of a Dense layer's backward pass, [3000, 128]ᵀ·[128, 26]:
 * 36–44 ms against 4–6 ms). Every Dense layer's backward pass uses the transposed
 * form (tfjs-core's BatchMatMul gradient), so every tfjs model trained on wasm pays
 * for it. This re-registers the backend's `BatchMatMul` and `_FusedMatMul` kernels
 * with a wrapper that transposes a flagged operand with the backend's own `Transpose`
 * kernel, calls the original kernel untransposed, and frees the temporary.
 *
 * When to use: on the wasm backend, before training (in Node, where wasm is the
 * default, and in browsers without WebGL). Results are the same products summed in
 * a possibly different order (float32 rounding differences only).
 * Caveats: it changes a process-wide kernel registration (that is why it is opt-in);
 * `fastTransposedMatMul({ enable: false })` restores the original kernels. Registering
 * happens per backend name; backends other than wasm are left alone unless named.
 *
 * @example
 * ```ts
 * await tf.setBackend('wasm');
 * nm.backend.fastTransposedMatMul(); // true: installed
 * ```
 */
import * as tf from '@tensorflow/tfjs-core';
import { checkKeys, fail } from '../utils/errors.js';

/** Options of {@link fastTransposedMatMul}. */
export interface FastTransposedMatMulOptions {
  /** Install (true) or restore the original kernels (false). Default: true. */
  enable?: boolean;
  /** The backend whose kernels are wrapped. Default: 'wasm'. */
  backend?: string;
}

const KERNELS = [tf.BatchMatMul, tf._FusedMatMul] as const;
const WHERE = 'fastTransposedMatMul';
/** The original kernel configs, per `${backend}|${kernel}`, while the wrapper is installed. */
const originals = new Map<string, tf.KernelConfig>();

type Backend = { disposeData(dataId: object): void };

function wrap(original: tf.KernelConfig, backendName: string): tf.KernelConfig {
  const kernelFunc: tf.KernelFunc = ({ inputs, backend, attrs }) => {
    const a = attrs as { transposeA?: boolean; transposeB?: boolean };
    if (!a.transposeA && !a.transposeB) return original.kernelFunc({ inputs, backend, attrs });
    const transpose = tf.getKernel(tf.Transpose, backendName);
    if (!transpose) return original.kernelFunc({ inputs, backend, attrs });
    const made: tf.TensorInfo[] = [];
    const flip = (x: tf.TensorInfo) => {
      const r = x.shape.length;
      const perm = Array.from({ length: r }, (_, i) => i);
      [perm[r - 2], perm[r - 1]] = [perm[r - 1], perm[r - 2]];
      const t = transpose.kernelFunc({ inputs: { x }, backend, attrs: { perm } }) as tf.TensorInfo;
      made.push(t);
      return t;
    };
    try {
      const ins = inputs as Record<string, tf.TensorInfo>;
      const plain = { ...ins, a: a.transposeA ? flip(ins.a) : ins.a, b: a.transposeB ? flip(ins.b) : ins.b };
      return original.kernelFunc({ inputs: plain, backend, attrs: { ...attrs, transposeA: false, transposeB: false } });
    } finally {
      for (const t of made) (backend as unknown as Backend).disposeData(t.dataId);
    }
  };
  return { ...original, kernelFunc };
}

/**
 * Installs (or with `enable: false` removes) the transpose-first wrapper of the
 * backend's BatchMatMul and _FusedMatMul kernels. Returns true when the wrapper is in
 * place afterwards, false when it is not (removed, or the backend has no such kernels:
 * e.g. `@tensorflow/tfjs-backend-wasm` was not imported). Idempotent.
 */
export function fastTransposedMatMul(options: FastTransposedMatMulOptions = {}): boolean {
  if (options == null || typeof options !== 'object' || Array.isArray(options)) fail(WHERE, 'options', options, 'an object { enable?, backend? }');
  checkKeys(WHERE, options, ['enable', 'backend']);
  const enable = options.enable ?? true;
  const backendName = options.backend ?? 'wasm';
  if (typeof enable !== 'boolean') fail(WHERE, 'enable', enable, 'true or false');
  if (typeof backendName !== 'string' || backendName === '') fail(WHERE, 'backend', backendName, "a backend name such as 'wasm'");
  let installed = false;
  for (const name of KERNELS) {
    const key = `${backendName}|${name}`;
    const current = tf.getKernel(name, backendName);
    if (enable) {
      if (originals.has(key)) {
        installed = true;
        continue;
      }
      if (!current) continue;
      originals.set(key, current);
      tf.unregisterKernel(name, backendName);
      tf.registerKernel(wrap(current, backendName));
      installed = true;
    } else if (originals.has(key)) {
      tf.unregisterKernel(name, backendName);
      tf.registerKernel(originals.get(key)!);
      originals.delete(key);
    }
  }
  return installed;
}
