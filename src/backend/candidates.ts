/**
 * The backends `nm.backend.useBest()` knows: the package that provides each, the
 * tfjs backend name it registers, and the order they are tried in.
 */

/** A backend choice, as written in `NM_BACKEND`. */
export type BackendName = 'node-gpu' | 'node' | 'wasm' | 'webgl' | 'cpu';

/** How to obtain one backend. */
export interface BackendCandidate {
  /** Our name for it (the `NM_BACKEND` value). */
  name: BackendName;
  /** The npm package whose import registers it. */
  specifier: string;
  /** The name tfjs registers it under (`tf.setBackend(tfName)`). */
  tfName: string;
}

/** Every known backend, keyed by its `NM_BACKEND` value. */
export const CANDIDATES: Readonly<Record<BackendName, BackendCandidate>> = {
  'node-gpu': { name: 'node-gpu', specifier: '@tensorflow/tfjs-node-gpu', tfName: 'tensorflow' },
  node: { name: 'node', specifier: '@tensorflow/tfjs-node', tfName: 'tensorflow' },
  wasm: { name: 'wasm', specifier: '@tensorflow/tfjs-backend-wasm', tfName: 'wasm' },
  webgl: { name: 'webgl', specifier: '@tensorflow/tfjs-backend-webgl', tfName: 'webgl' },
  cpu: { name: 'cpu', specifier: '@tensorflow/tfjs-backend-cpu', tfName: 'cpu' },
};

/** The valid `NM_BACKEND` values, in a stable order for messages. */
export const BACKEND_NAMES: readonly BackendName[] = ['node-gpu', 'node', 'wasm', 'webgl', 'cpu'];

/** Order tried in Node: native GPU, native CPU, WebAssembly, plain JavaScript. */
export const NODE_ORDER: readonly BackendName[] = ['node-gpu', 'node', 'wasm', 'cpu'];

/** Order tried in a browser: WebGL, WebAssembly, plain JavaScript. */
export const BROWSER_ORDER: readonly BackendName[] = ['webgl', 'wasm', 'cpu'];

/** True when running under Node (a `process` with `versions.node`). */
export function isNodeRuntime(): boolean {
  const proc = (globalThis as { process?: { versions?: { node?: string } } }).process;
  return typeof proc?.versions?.node === 'string';
}

/** The process environment in Node, an empty object elsewhere. */
export function processEnv(): Record<string, string | undefined> {
  const proc = (globalThis as { process?: { env?: Record<string, string | undefined> } }).process;
  return proc?.env ?? {};
}

/**
 * True when an import failed because `specifier` itself is not installed (not
 * because it is installed but broken). Covers Node ESM and CJS codes and the
 * browsers' unresolved bare specifier.
 */
export function isAbsent(error: unknown, specifier: string): boolean {
  const e = error as { code?: unknown; message?: unknown } | null;
  const message = typeof e?.message === 'string' ? e.message : String(error);
  const code = typeof e?.code === 'string' ? e.code : '';
  if (code === 'ERR_MODULE_NOT_FOUND' || code === 'MODULE_NOT_FOUND') {
    return message.includes(`'${specifier}'`) || message.includes(`"${specifier}"`);
  }
  return /failed to resolve module specifier/i.test(message) && message.includes(specifier);
}
