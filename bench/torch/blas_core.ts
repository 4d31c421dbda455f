/**
 * The OpenBLAS core type the PyTorch side runs with. OpenBLAS 0.3.21 (Debian's) picks its
 * kernels from the CPU it detects, and takes a virtual CPU without a model name for a
 * "Prescott" (SSE3 only), whose kernels run a matMul several times slower than the
 * AVX2 or AVX-512 ones the CPU has. So that the baseline is not handicapped, `bench:torch` sets the variable from the CPU flags
 * (avx512f → SkylakeX, avx2 → Haswell) unless the user set it or `--coretype` says otherwise.
 */
import { readFileSync } from 'node:fs';

/** The flags of the first CPU in /proc/cpuinfo (empty where there is none: not Linux). */
export function cpuFlags(cpuinfo = readCpuinfo()): Set<string> {
  const line = cpuinfo.split('\n').find((l) => /^flags\s*:/.test(l));
  return new Set(
    line
      ? line
          .replace(/^flags\s*:/, '')
          .trim()
          .split(/\s+/)
      : [],
  );
}

function readCpuinfo(): string {
  try {
    return readFileSync('/proc/cpuinfo', 'utf8');
  } catch {
    return '';
  }
}

/** The core type for the CPU flags: avx512f → SkylakeX, avx2 → Haswell, else null (leave it to OpenBLAS). */
export function coreTypeFromFlags(flags: Set<string>): { core: string; flag: string } | null {
  if (flags.has('avx512f')) return { core: 'SkylakeX', flag: 'avx512f' };
  if (flags.has('avx2')) return { core: 'Haswell', flag: 'avx2' };
  return null;
}

/** What OPENBLAS_CORETYPE the PyTorch side gets, and why. */
export interface CoreTypeChoice {
  /** The value to set, or null to leave it unset (OpenBLAS detects the CPU). */
  value: string | null;
  /** Why: for the bench's header. */
  source: string;
}

/**
 * The OPENBLAS_CORETYPE of the PyTorch side. `option` is `--coretype`: 'auto' (the default:
 * the user's OPENBLAS_CORETYPE if set, else from the CPU flags), 'detect' (unset: OpenBLAS's
 * own detection) or a core type name (forced).
 *
 * @example
 * chooseCoreType('auto', process.env, cpuFlags()); // { value: 'Haswell', source: 'set from the CPU flags: avx2' }
 */
export function chooseCoreType(option: string, env: Record<string, string | undefined>, flags: Set<string>): CoreTypeChoice {
  if (option === 'detect') return { value: null, source: "unset (--coretype detect): OpenBLAS's own detection" };
  if (option !== 'auto') return { value: option, source: '--coretype' };
  const user = env.OPENBLAS_CORETYPE;
  if (user !== undefined && user !== '') return { value: user, source: 'OPENBLAS_CORETYPE set by the user' };
  const fromFlags = coreTypeFromFlags(flags);
  if (fromFlags === null) return { value: null, source: "unset (no avx2 or avx512f flag): OpenBLAS's own detection" };
  return { value: fromFlags.core, source: `set from the CPU flags: ${fromFlags.flag}` };
}
