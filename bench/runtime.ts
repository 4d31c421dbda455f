/**
 * The runtime line of the benchmarks' headers: which Node ran the figures and whether its
 * WebAssembly has relaxed SIMD (Node 22 and later; Node 20 only behind a flag), since both
 * change what the kernels can do. Run a benchmark on Node 24 with
 * `PATH="$(dirname "$(node scripts/node24.mjs)")":$PATH npm run bench:perf`.
 */
import { relaxedSimdSupported } from 'tfjs-neural-modules/internal';

/** E.g. 'node v24.22.3, relaxed SIMD yes'. */
export function runtimeLabel(): string {
  return `node ${process.version}, relaxed SIMD ${relaxedSimdSupported() ? 'yes' : 'no'}`;
}
