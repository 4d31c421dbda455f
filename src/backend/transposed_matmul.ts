/**
 * `nm.backend.fastTransposedMatMul()`: an opt-in fix for tfjs-wasm's slow transposed
 * matrix products.
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
 * A product with inner dimension 0 gives zeros (plus the bias and activation of a fused
 * product): tfjs-wasm's untransposed path returns uninitialised memory for it, so the
 * wrapper runs such a product with zero operands of inner dimension 1 instead.
 *
 * @example
 * ```ts
 * await tf.setBackend('wasm');
 * nm.backend.fastTransposedMatMul(); // true: installed
 * ```
 */
import * as tf from '@tensorflow/tfjs-core';
import { isKernelWrapper, unwrapKernel, wrapKernel } from '../tfjs_internals/kernel_swap.js';
import { checkKeys, fail } from '../utils/errors.js';
import { heapMatMul } from './heap_matmul.js';

/** Options of {@link fastTransposedMatMul}. */
export interface FastTransposedMatMulOptions {
  /** Install (true) or restore the original kernels (false). Default: true. */
  enable?: boolean;
  /** The backend whose kernels are wrapped. Default: 'wasm'. */
  backend?: string;
}

const KERNELS = [tf.BatchMatMul, tf._FusedMatMul] as const;
const WHERE = 'fastTransposedMatMul';

type Backend = { disposeData(dataId: object): void };
type MatMulAttrs = { transposeA?: boolean; transposeB?: boolean };

/** `[..., rows, cols]` with the last two entries of `shape` replaced. */
const withLastTwo = (shape: number[], rows: number, cols: number) => [...shape.slice(0, -2), rows, cols];

/**
 * The transpose-first wrapper of a BatchMatMul or _FusedMatMul kernel of `backendName`;
 * on the wasm backend a plain BatchMatMul large enough goes to the GEMM kernel instead
 * ({@link heapMatMul}).
 */
function transposeFirst(original: tf.KernelConfig, backendName: string): tf.KernelFunc {
  return ({ inputs, backend, attrs }) => {
    const a = attrs as MatMulAttrs;
    const ins = inputs as Record<string, tf.TensorInfo>;
    const rankA = ins.a.shape.length;
    const inner = ins.a.shape[a.transposeA ? rankA - 2 : rankA - 1];
    if (inner === 0) return emptyInner(original, backendName, { inputs, backend, attrs });
    const transpose = tf.getKernel(tf.Transpose, backendName);
    const made: tf.TensorInfo[] = [];
    const swap = (x: tf.TensorInfo) => {
      const r = x.shape.length;
      const perm = Array.from({ length: r }, (_, i) => i);
      [perm[r - 2], perm[r - 1]] = [perm[r - 1], perm[r - 2]];
      return transpose!.kernelFunc({ inputs: { x }, backend, attrs: { perm } }) as tf.TensorInfo;
    };
    if (transpose && original.kernelName === tf.BatchMatMul && backendName === 'wasm') {
      const out = heapMatMul(ins.a, ins.b, a.transposeA === true, a.transposeB === true, backend, swap);
      if (out !== null) return out;
    }
    if (!a.transposeA && !a.transposeB) return original.kernelFunc({ inputs, backend, attrs });
    if (!transpose) return original.kernelFunc({ inputs, backend, attrs });
    const flip = (x: tf.TensorInfo) => {
      const t = swap(x);
      made.push(t);
      return t;
    };
    try {
      const plain = { ...ins, a: a.transposeA ? flip(ins.a) : ins.a, b: a.transposeB ? flip(ins.b) : ins.b };
      return original.kernelFunc({ inputs: plain, backend, attrs: { ...attrs, transposeA: false, transposeB: false } });
    } finally {
      for (const t of made) (backend as unknown as Backend).disposeData(t.dataId);
    }
  };
}

/**
 * A product whose inner dimension is 0: every sum is empty, so the product is zeros.
 * Runs the original kernel on zero operands of inner dimension 1 (same batch and outer
 * dimensions, untransposed), which gives those zeros and then, for a fused product, the
 * bias and activation. Falls back to the original kernel when the backend has no Fill.
 */
function emptyInner(original: tf.KernelConfig, backendName: string, args: Parameters<tf.KernelFunc>[0]): ReturnType<tf.KernelFunc> {
  const { inputs, backend, attrs } = args;
  const fill = tf.getKernel(tf.Fill, backendName);
  if (!fill) return original.kernelFunc(args);
  const { transposeA, transposeB } = attrs as MatMulAttrs;
  const ins = inputs as Record<string, tf.TensorInfo>;
  const [sa, sb] = [ins.a.shape, ins.b.shape];
  const rows = sa[transposeA ? sa.length - 1 : sa.length - 2];
  const cols = sb[transposeB ? sb.length - 2 : sb.length - 1];
  const zeros = (shape: number[]) => fill.kernelFunc({ inputs: {}, backend, attrs: { shape, value: 0, dtype: ins.a.dtype } }) as tf.TensorInfo;
  const a = zeros(withLastTwo(sa, rows, 1));
  const b = zeros(withLastTwo(sb, 1, cols));
  try {
    return original.kernelFunc({ inputs: { ...ins, a, b }, backend, attrs: { ...attrs, transposeA: false, transposeB: false } });
  } finally {
    for (const t of [a, b]) (backend as unknown as Backend).disposeData(t.dataId);
  }
}

/**
 * True when the transpose-first wrapper is what `backendName` runs: every BatchMatMul and
 * _FusedMatMul kernel registered for it is the wrapper (and at least one is registered).
 * Reads tfjs' kernel registry, so it is true only while the wrapper is really in place.
 */
export function fastTransposedMatMulInstalled(backendName = 'wasm'): boolean {
  const registered = KERNELS.map((name) => tf.getKernel(name, backendName)).filter((k) => k != null);
  return registered.length > 0 && registered.every(isKernelWrapper);
}

/**
 * Installs (or with `enable: false` removes) the transpose-first wrapper of the
 * backend's BatchMatMul and _FusedMatMul kernels. Returns true when the wrapper is in
 * place afterwards, false when it is not (removed, or the backend has no such kernels:
 * e.g. `@tensorflow/tfjs-backend-wasm` was not imported). Idempotent. Removing it
 * re-registers the kernel configs that were registered before it (tfjs' own).
 */
export function fastTransposedMatMul(options: FastTransposedMatMulOptions = {}): boolean {
  if (options == null || typeof options !== 'object' || Array.isArray(options)) fail(WHERE, 'options', options, 'an object { enable?, backend? }');
  checkKeys(WHERE, options, ['enable', 'backend']);
  const enable = options.enable ?? true;
  const backendName = options.backend ?? 'wasm';
  if (typeof enable !== 'boolean') fail(WHERE, 'enable', enable, 'true or false');
  if (typeof backendName !== 'string' || backendName === '') fail(WHERE, 'backend', backendName, "a backend name such as 'wasm'");
  for (const name of KERNELS) {
    if (enable) wrapKernel(name, backendName, (original) => transposeFirst(original, backendName));
    else unwrapKernel(name, backendName);
  }
  return fastTransposedMatMulInstalled(backendName);
}
