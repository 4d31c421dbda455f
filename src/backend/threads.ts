/**
 * `nm.backend.setThreads(n)`: run the package's WebAssembly kernels (the host engine's
 * sparse solves, `nm.optimizers.adam`'s update) on n threads.
 *
 * tfjs-backend-wasm cannot start threads in Node, so without this a training step
 * uses one core. With n > 1 the kernels work in one shared WebAssembly memory, and
 * each large kernel call is cut into n disjoint parts (rows of the sparse product,
 * columns of the per-sample dot products, ranges of the element-wise passes) that
 * the caller and n − 1 workers compute at once. The parts are the same for every run
 * and each is computed in the same order as on one thread, so the results are the
 * same bits for any thread count.
 *
 * In Node the threads start by themselves: the first Neural Module solve large enough
 * to split starts one thread per core in the background (src/backend/default_threads.ts;
 * `NM_THREADS=n` in the environment sets the count, `NM_THREADS=1` turns it off).
 *
 * When to use: to choose the count in Node (`setThreads(1)` keeps every kernel on the
 * caller, and sticks), and in browser pages that are `crossOriginIsolated`, where threads
 * are opt-in; before creating optimizers (instances made earlier keep their threads).
 * Caveats: tfjs' own ops (matMul, the dense graph
 * gradient) still run on tfjs' backend; calls below about 32k elements stay on the
 * caller, so small layers gain little; the workers sleep when idle and never keep a
 * Node process alive. A worker that ends makes the next kernel call throw (see
 * src/kernels/threads/team.ts); the kernels then run on the caller until setThreads is called again.
 *
 * @example
 * ```ts
 * await tf.setBackend('wasm');
 * await nm.backend.setThreads('auto'); // 2 on a 2-core machine
 * ```
 */
import { useKernelTeam } from '../kernels/index.js';
import { currentTeam } from '../kernels/threads/current.js';
import { KernelTeam, threadsSupported } from '../kernels/threads/team.js';
import { maybeNodeHost } from '../platform/host.js';
import { fail } from '../utils/errors.js';

/** The most threads {@link setThreads} starts. */
export const MAX_THREADS = 64;

/** True once {@link setThreads} was called: the count is the user's, and the default team (default_threads.ts) is not started. */
let chosen = false;

/** True once the thread count was chosen with {@link setThreads} (or `useBest({ threads })`). */
export function threadsChosen(): boolean {
  return chosen;
}

/** Forgets that the count was chosen (for tests of the default). */
export function forgetThreadsChoice(): void {
  chosen = false;
}

/** Cores this runtime reports (Node: os.availableParallelism; browsers: navigator.hardwareConcurrency), at least 1. */
export function availableCores(): number {
  const host = maybeNodeHost();
  if (host !== null) return Math.max(1, host.availableParallelism());
  const nav = (globalThis as { navigator?: { hardwareConcurrency?: number } }).navigator;
  return Math.max(1, Math.floor(nav?.hardwareConcurrency ?? 1));
}

/**
 * Sets how many threads the package's kernels use, starting or stopping workers;
 * resolves to the count now in use.
 *
 * @param count 1 to use the caller only, an integer in [1, 64], or 'auto': every
 *   available core where threads are supported, else 1. Any call turns the default
 *   threads of Node off for good (the count is the caller's from then on).
 * @throws ConfigError for a count that is not 'auto' or an integer in [1, 64], and for
 *   count > 1 where threads are unavailable (a browser page that is not
 *   crossOriginIsolated: the message says which headers fix it).
 */
export async function setThreads(count: number | 'auto'): Promise<number> {
  if (count !== 'auto' && !(Number.isInteger(count) && count >= 1 && count <= MAX_THREADS)) {
    fail('setThreads', 'count', count, `'auto' or an integer in [1, ${MAX_THREADS}]`);
  }
  const n = count === 'auto' ? (threadsSupported() ? Math.min(MAX_THREADS, availableCores()) : 1) : count;
  chosen = true;
  // A team that lost a worker has stopped itself (size 1): forget it.
  if (currentTeam()?.size === 1) useKernelTeam(null);
  const old = currentTeam();
  if ((old?.size ?? 1) === n) return n;
  const next = n > 1 ? await KernelTeam.start(n) : null;
  useKernelTeam(next);
  old?.stop();
  return n;
}

/**
 * The number of threads the package's kernels use: 1 until {@link setThreads}, or in
 * Node until a large layer's first step has started the default threads.
 *
 * @example
 * nm.backend.threads(); // 1
 */
export function threads(): number {
  return currentTeam()?.size ?? 1;
}
