/**
 * Tests run once per kernel arithmetic (src/kernels/kernel_variant.ts): 'muladd' everywhere,
 * 'fma' where WebAssembly relaxed SIMD validates (Node >= 22), shown as skipped elsewhere.
 */
import { it } from 'vitest';
import type { KernelVariant } from '../../src/kernels/kernel_variant.js';
import { relaxedSimdSupported } from '../../src/kernels/relaxed_simd.js';

/** Both arithmetics, mul+add first. */
export const KERNEL_VARIANTS: readonly KernelVariant[] = ['muladd', 'fma'];

/**
 * `it(title, fn)` for `variant`, its title prefixed with the variant; skipped for 'fma'
 * where relaxed SIMD is missing (Node 20), which the title then says.
 *
 * @example
 * for (const v of KERNEL_VARIANTS) itForVariant(v, '1 and 2 threads give the same bits', () => { ... });
 */
export function itForVariant(variant: KernelVariant, title: string, fn: () => unknown, timeout?: number): void {
  const missing = variant === 'fma' && !relaxedSimdSupported();
  it.skipIf(missing)(`${variant}: ${title}${missing ? ' (skipped: no WebAssembly relaxed SIMD in this runtime)' : ''}`, fn, timeout);
}
