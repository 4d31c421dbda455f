/**
 * What the runtime offers the kernel threads (src/kernels/threads/team.ts): whether it
 * can share WebAssembly memory between threads, whether this thread may block in
 * Atomics.wait, and starting a worker (Node's worker_threads or a Web Worker).
 */
import type { HostWorker } from '../../platform/host.js';
import { maybeNodeHost } from '../../platform/host.js';
import { startWebWorker } from '../../platform/web_worker.js';

/** True where this thread may block in Atomics.wait (Node's main thread, any worker; not a browser's main thread). */
export function canBlock(): boolean {
  try {
    Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 1, 0);
    return true;
  } catch {
    return false;
  }
}

/** True when this runtime can share WebAssembly memory between threads. */
export function threadsSupported(): boolean {
  if (typeof SharedArrayBuffer !== 'function' || typeof Atomics !== 'object') return false;
  const g = globalThis as { crossOriginIsolated?: boolean; Worker?: unknown; Blob?: unknown; URL?: { createObjectURL?: unknown } };
  if (maybeNodeHost() !== null) return true;
  return g.crossOriginIsolated === true && typeof g.Worker === 'function' && typeof g.Blob === 'function';
}

/** Starts a kernel worker running `source` (a Node worker thread or a Web Worker). */
export function startWorker(source: string): HostWorker {
  const host = maybeNodeHost();
  return host !== null ? host.startWorker(source) : startWebWorker(source);
}
