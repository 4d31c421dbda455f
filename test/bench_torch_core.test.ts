/**
 * bench:torch's OpenBLAS core type (bench/torch/blas_core.ts): read from the CPU flags
 * (avx512f → SkylakeX, avx2 → Haswell, else unset), the user's OPENBLAS_CORETYPE first,
 * `--coretype detect` leaves it unset.
 */
import { describe, expect, it } from 'vitest';
import { chooseCoreType, coreTypeFromFlags, cpuFlags } from '../bench/torch/blas_core.js';

const CPUINFO = (flags: string) =>
  `processor\t: 0\nvendor_id\t: GenuineIntel\nflags\t\t: fpu sse sse2 ${flags}\nbugs\t\t: spectre_v1\n\nprocessor\t: 1\nflags\t\t: fpu\n`;

describe('the OpenBLAS core type of bench:torch', () => {
  it('reads the first CPU’s flags from /proc/cpuinfo text', () => {
    const flags = cpuFlags(CPUINFO('avx2 fma'));
    expect([...flags]).toEqual(['fpu', 'sse', 'sse2', 'avx2', 'fma']);
    expect(cpuFlags('').size).toBe(0);
  });

  it.each([
    ['avx avx2 avx512f avx512bw', 'SkylakeX'],
    ['avx avx2 fma', 'Haswell'],
    ['sse3 ssse3 avx', null],
  ])('flags %s → %s', (flags, core) => {
    expect(coreTypeFromFlags(cpuFlags(CPUINFO(flags)))?.core ?? null).toBe(core);
  });

  it("keeps the user's OPENBLAS_CORETYPE, else takes the flags', and --coretype overrides both", () => {
    const avx512 = cpuFlags(CPUINFO('avx2 avx512f'));
    expect(chooseCoreType('auto', {}, avx512)).toEqual({ value: 'SkylakeX', source: 'set from the CPU flags: avx512f' });
    expect(chooseCoreType('auto', { OPENBLAS_CORETYPE: 'Zen' }, avx512)).toEqual({ value: 'Zen', source: 'OPENBLAS_CORETYPE set by the user' });
    expect(chooseCoreType('auto', { OPENBLAS_CORETYPE: '' }, avx512).value).toBe('SkylakeX');
    expect(chooseCoreType('auto', {}, cpuFlags(CPUINFO('avx'))).value).toBeNull();
    expect(chooseCoreType('detect', { OPENBLAS_CORETYPE: 'Zen' }, avx512).value).toBeNull();
    expect(chooseCoreType('Sandybridge', {}, avx512)).toEqual({ value: 'Sandybridge', source: '--coretype' });
  });
});
