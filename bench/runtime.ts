/**
 * The runtime line of the benchmarks' headers: which Node ran the figures, whether its
 * WebAssembly has relaxed SIMD (Node 22 and later; Node 20 only behind a flag) and which
 * arithmetic the kernels' products use ('fma' there unless `NM_KERNELS=muladd`),
 * since all three change what the kernels do. Run a benchmark on Node 24 with
 * `PATH="$(dirname "$(node scripts/node24.mjs)")":$PATH npm run bench:perf`.
 */
import * as nm from 'tfjs-neural-modules';
import { relaxedSimdSupported } from 'tfjs-neural-modules/internal';

/** E.g. 'node v24.22.3, relaxed SIMD yes, kernels fma'. */
export function runtimeLabel(): string {
  return `node ${process.version}, relaxed SIMD ${relaxedSimdSupported() ? 'yes' : 'no'}, kernels ${nm.backend.kernelVariant()}`;
}
