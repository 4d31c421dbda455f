/**
 * A {@link HostWorker} over a Web Worker started from a Blob URL (browsers; the Node
 * build uses `node:worker_threads` through src/platform/node_host.ts instead).
 *
 * The Web platform has no exit event for a worker. The script is prefixed with a
 * small shim that makes `self.close()` post a private notice first, which this wrapper
 * turns into {@link HostWorker.onExit} (code 0) instead of a message; a worker the
 * browser ends some other way is not reported.
 */
import type { HostWorker } from './host.js';

/** The key of the notice the shim posts before the worker closes itself. */
const EXIT_NOTICE = '__tfjsNeuralModulesWorkerExit';

/** Runs before the worker's own script: `self.close()` first tells the page. */
const SHIM = `'use strict';
(() => {
  const close = self.close.bind(self);
  self.close = () => {
    self.postMessage({ ${EXIT_NOTICE}: true });
    close();
  };
})();
`;

interface WebGlobals {
  Worker: new (url: string) => {
    postMessage(m: unknown): void;
    onmessage: ((e: { data: unknown }) => void) | null;
    onerror: ((e: unknown) => void) | null;
    terminate(): void;
  };
  Blob: new (parts: string[], o: { type: string }) => object;
  URL: { createObjectURL(b: object): string; revokeObjectURL(u: string): void };
}

/**
 * Starts a Web Worker running `source` (a classic script).
 *
 * @example
 * const worker = startWebWorker(kernelWorkerSource());
 * worker.onExit((code) => console.warn(`kernel worker exited (${code})`));
 */
export function startWebWorker(source: string): HostWorker {
  const g = globalThis as unknown as WebGlobals;
  const url = g.URL.createObjectURL(new g.Blob([SHIM, source], { type: 'text/javascript' }));
  const w = new g.Worker(url);
  g.URL.revokeObjectURL(url);
  const onMessage: Array<(data: unknown) => void> = [];
  const onError: Array<(err: unknown) => void> = [];
  const onExit: Array<(code: number) => void> = [];
  w.onmessage = (e) => {
    const data = e.data as Record<string, unknown> | null;
    if (data !== null && typeof data === 'object' && data[EXIT_NOTICE] === true) onExit.forEach((fn) => fn(0));
    else onMessage.forEach((fn) => fn(e.data));
  };
  w.onerror = (e) => onError.forEach((fn) => fn(e));
  return {
    postMessage: (m) => w.postMessage(m),
    onMessage: (fn) => void onMessage.push(fn),
    onError: (fn) => void onError.push(fn),
    onExit: (fn) => void onExit.push(fn),
    terminate: () => w.terminate(),
  };
}
