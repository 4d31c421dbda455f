/**
 * Which arithmetic the WebAssembly kernels' products use, chosen once per kernel
 * instance when it is created:
 *
 * - `'fma'`: the products of the forward solve and the gradient (spmm, axpyRows and the
 *   dense-gradient GEMM) fuse every multiply-add (`f32x4.relaxed_madd`, WebAssembly
 *   relaxed SIMD: one rounding per term instead of two, and faster). Built from the same
 *   .wat text as the mul+add modules (scripts/wat_fma.mjs); every other kernel is the
 *   mul+add module's. Not bit-identical to the JS twins; within the same error bound of the
 *   exact sum (DESIGN.md, "Kernel arithmetic").
 * - `'muladd'`: every product rounded to f32, then every sum: bit-identical to the JS
 *   twins (src/kernels/js_kernels.ts).
 *
 * The default is 'fma' where relaxed SIMD validates (Node ≥ 22, Chrome ≥ 114), else
 * 'muladd' (Node 20). The environment variable `NM_KERNELS` (read once, Node only)
 * or {@link setKernelVariant} (internal: tests and benchmarks) forces one. Kernel threads
 * run the modules their instance was created with, so 1 and n threads give the same bits
 * within one variant.
 */
import { ConfigError, show } from '../utils/errors.js';
import { relaxedSimdSupported } from './relaxed_simd.js';

/** The arithmetic of the kernels' products: fused multiply-add, or a rounded product then a rounded sum. */
export type KernelVariant = 'fma' | 'muladd';

/** What can be asked for: a variant, or 'auto' ('fma' where relaxed SIMD validates, else 'muladd'). */
export type KernelVariantChoice = KernelVariant | 'auto';

/** The environment variable that forces a variant: `muladd`, `fma` or `auto` (unset or empty: auto). */
export const KERNEL_VARIANT_ENV = 'NM_KERNELS';

const CHOICES: readonly KernelVariantChoice[] = ['auto', 'fma', 'muladd'];

/** The choice in force; undefined until the environment variable has been read (once). */
let chosen: KernelVariantChoice | undefined;

/** `NM_KERNELS` from the process environment (none in a browser), checked. */
function fromEnvironment(): KernelVariantChoice {
  const proc = (globalThis as { process?: { env?: Record<string, string | undefined> } }).process;
  const raw = proc?.env?.[KERNEL_VARIANT_ENV];
  if (raw === undefined || raw.trim() === '') return 'auto';
  const value = raw.trim().toLowerCase();
  if (!(CHOICES as readonly string[]).includes(value)) {
    throw new ConfigError(
      `${KERNEL_VARIANT_ENV} must be one of ${CHOICES.map((c) => `'${c}'`).join(', ')}; received ${show(raw)}. Unset it for the default (auto).`,
    );
  }
  return value as KernelVariantChoice;
}

/** Throws unless this runtime can run `variant`. */
function checkAvailable(where: string, variant: KernelVariantChoice): void {
  if (variant === 'fma' && !relaxedSimdSupported()) {
    throw new ConfigError(
      `${where}: the 'fma' kernels need WebAssembly relaxed SIMD, which this runtime lacks (Node >= 22 and Chrome >= 114 have it); ` +
        "use 'muladd' or 'auto'.",
    );
  }
}

/**
 * The variant kernel instances created now use: the forced one, else 'fma' where relaxed
 * SIMD validates, else 'muladd'. Throws a ConfigError when `NM_KERNELS` is invalid,
 * or asks for 'fma' where relaxed SIMD is missing.
 *
 * @example
 * kernelVariant(); // 'fma' on Node 24, 'muladd' on Node 20 or with NM_KERNELS=muladd
 */
export function kernelVariant(): KernelVariant {
  const choice = (chosen ??= fromEnvironment());
  checkAvailable(KERNEL_VARIANT_ENV, choice);
  if (choice === 'auto') return relaxedSimdSupported() ? 'fma' : 'muladd';
  return choice;
}

/**
 * Internal switch (tests and benchmarks): forces the variant of the kernel instances
 * created from now on ('auto': back to the detection; the environment variable is not
 * read again). Instances created before keep theirs; `useKernelVariant` in
 * src/kernels/index.ts also drops the cached `sparseKernels()` instance.
 * Throws a ConfigError for an unknown value, or 'fma' where relaxed SIMD is missing.
 *
 * @example
 * setKernelVariant('muladd'); // bit-identical to the JS twins from now on
 */
export function setKernelVariant(variant: KernelVariantChoice): void {
  if (!(CHOICES as readonly unknown[]).includes(variant)) {
    throw new ConfigError(`setKernelVariant: 'variant' must be one of ${CHOICES.map((c) => `'${c}'`).join(', ')}; received ${show(variant)}.`);
  }
  checkAvailable('setKernelVariant', variant);
  chosen = variant;
}
