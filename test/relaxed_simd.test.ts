import initWabt from 'wabt';
import { describe, expect, it } from 'vitest';
import { relaxedSimdProbeBytes, relaxedSimdSupported } from '../src/kernels/relaxed_simd.js';

/** The probe in text form: what relaxedSimdProbeBytes hand-assembles. */
const PROBE_WAT = `(module
  (func
    (f32x4.relaxed_madd (v128.const i32x4 0 0 0 0) (v128.const i32x4 0 0 0 0) (v128.const i32x4 0 0 0 0))
    drop))`;

/**
 * Whether this runtime's V8 has relaxed SIMD, from its version alone: V8 ships it from
 * 11.4 (Node 22 and later; Node 20 has 11.3), or earlier behind a flag.
 */
function v8HasRelaxedSimd(): boolean {
  const [major, minor] = process.versions.v8.split('.').map(Number);
  const flagged = [...process.execArgv, ...(process.env.NODE_OPTIONS ?? '').split(/\s+/)].some((a) => a.startsWith('--experimental-wasm-relaxed-simd'));
  return major > 11 || (major === 11 && minor >= 4) || flagged;
}

describe('relaxed SIMD detection', () => {
  it('probes with the bytes wabt assembles from f32x4.relaxed_madd, which plain SIMD rejects', async () => {
    const wabt = await initWabt();
    const mod = wabt.parseWat('probe.wat', PROBE_WAT, { simd: true, relaxed_simd: true });
    mod.validate();
    const bin = mod.toBinary({ log: false, write_debug_names: false }).buffer;
    mod.destroy();
    expect(Array.from(relaxedSimdProbeBytes())).toEqual(Array.from(bin));
    // Without the relaxed-SIMD feature the same text does not parse: the probe needs exactly that feature.
    expect(() => wabt.parseWat('probe.wat', PROBE_WAT, { simd: true, relaxed_simd: false })).toThrow();
  });

  it(`reflects this runtime (node ${process.version}, V8 ${process.versions.v8})`, () => {
    expect(relaxedSimdSupported()).toBe(v8HasRelaxedSimd());
    expect(WebAssembly.validate(relaxedSimdProbeBytes())).toBe(v8HasRelaxedSimd());
    // Computed once: the same answer on a second call.
    expect(relaxedSimdSupported()).toBe(relaxedSimdSupported());
  });
});
