/**
 * Detection of WebAssembly relaxed SIMD (the fused multiply-add `f32x4.relaxed_madd`
 * and friends): V8 ships it from 11.4, so Node 22 and later have it and Node 20 does
 * not. Internal (not exported from the package): FMA kernels pick their variant by it.
 */
import { validatesOnce } from './wasm_bytes.js';

/**
 * The smallest module that uses `f32x4.relaxed_madd`: one function `() -> ()` whose body
 * pushes three `v128.const` zeros, applies `f32x4.relaxed_madd` (opcode 0xfd, then 0x105
 * as a LEB128 u32: 0x85 0x02) and drops the result.
 * Caveat: a fresh array on every call.
 *
 * @example
 * WebAssembly.validate(relaxedSimdProbeBytes()); // true on Node 24, false on Node 20
 */
export function relaxedSimdProbeBytes(): Uint8Array<ArrayBuffer> {
  const v128Zero = [0xfd, 0x0c, ...new Array<number>(16).fill(0)]; // v128.const i32x4 0 0 0 0
  const body = [0x00, ...v128Zero, ...v128Zero, ...v128Zero, 0xfd, 0x85, 0x02, 0x1a, 0x0b]; // no locals … drop, end
  return new Uint8Array([
    ...[0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00], // "\0asm", version 1
    ...[0x01, 0x04, 0x01, 0x60, 0x00, 0x00], // type section: one type, () -> ()
    ...[0x03, 0x02, 0x01, 0x00], // function section: one function of type 0
    ...[0x0a, body.length + 2, 0x01, body.length, ...body], // code section: one body
  ]);
}

/**
 * True when this runtime's WebAssembly validates relaxed SIMD (`f32x4.relaxed_madd`),
 * checked once per process with `WebAssembly.validate`; false without WebAssembly.
 *
 * @example
 * const fma = relaxedSimdSupported(); // Node 24: true; Node 20: false
 */
export const relaxedSimdSupported: () => boolean = validatesOnce(relaxedSimdProbeBytes);
