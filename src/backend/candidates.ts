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

/**
 * Why a backend whose package could not be imported was skipped, and what to do.
 * In Node an import by name fails only when the package is not installed. A browser
 * cannot import a package by name at run time (bundlers leave the dynamic import of an
 * optional backend alone), so there the package may well be installed but was not
 * imported by the page: the message says how to load it.
 */
export function absentMessage(name: BackendName, inNode: boolean): string {
  const { specifier } = CANDIDATES[name];
  if (inNode) return `${specifier} is not installed`;
  const before = 'before calling useBest()';
  const head = `${specifier} is not loaded (a browser cannot import a package by name at run time; useBest() uses the backends the page has imported)`;
  switch (name) {
    case 'wasm':
      return (
        `${head}: with a bundler, add \`import '${specifier}';\` ${before}, and if its .wasm files are not served next to your bundle, ` +
        `call \`setWasmPaths('<URL of its dist/ folder>')\` from that package first; with script tags, load tf-backend-wasm.min.js ` +
        `(https://cdn.jsdelivr.net/npm/${specifier}/dist/tf-backend-wasm.min.js) after tf.min.js`
      );
    case 'webgl':
    case 'cpu':
      return `${head}: with a bundler, add \`import '${specifier}';\` (or \`import '@tensorflow/tfjs';\`, which includes it) ${before}; with script tags, tf.min.js includes it`;
    default:
      return `${specifier} is not available in a browser (it runs in Node only)`;
  }
}

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
 * browsers' unresolved bare specifier (Chromium: "Failed to resolve module specifier",
 * Firefox: "was a bare specifier, but was not remapped", Safari: "does not resolve to a
 * valid URL").
 */
export function isAbsent(error: unknown, specifier: string): boolean {
  const e = error as { code?: unknown; message?: unknown } | null;
  const message = typeof e?.message === 'string' ? e.message : String(error);
  const code = typeof e?.code === 'string' ? e.code : '';
  if (code === 'ERR_MODULE_NOT_FOUND' || code === 'MODULE_NOT_FOUND') {
    return message.includes(`'${specifier}'`) || message.includes(`"${specifier}"`);
  }
  return /failed to resolve module specifier|was a bare specifier|does not resolve to a valid URL/i.test(message) && message.includes(specifier);
}
