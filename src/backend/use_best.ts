/**
 * `nm.backend.useBest()`: picks the fastest tfjs backend that is installed and
 * works here, or the one `NM_BACKEND` names.
 */
import { MAX_THREADS, setThreads, threads } from './threads.js';
import { fastTransposedMatMul, fastTransposedMatMulInstalled } from './transposed_matmul.js';
import * as tf from '@tensorflow/tfjs-core';
import { ConfigError, checkKeys, fail, show } from '../utils/errors.js';
import { BACKEND_NAMES, BROWSER_ORDER, CANDIDATES, NODE_ORDER, absentMessage, isAbsent, isNodeRuntime, processEnv, type BackendName } from './candidates.js';
import { classifyWebglRenderer, webglRenderer as readWebglRenderer } from './webgl_renderer.js';
import { kernelVariant, type KernelVariant } from '../kernels/kernel_variant.js';

/** Options of {@link useBest}. */
export interface UseBestOptions {
  /** Do not log the chosen backend. Default false. */
  quiet?: boolean;
  /**
   * Loads a package by name; default: a dynamic `import()`. Inject one in tests
   * to simulate installed, missing or broken packages.
   */
  importer?: (specifier: string) => Promise<unknown>;
  /** Environment to read `NM_BACKEND` from. Default: `process.env` (empty in a browser). */
  env?: Record<string, string | undefined>;
  /** Force the browser order (webgl, wasm, cpu) or the Node order. Default: detected. */
  runtime?: 'node' | 'browser';
  /** Where the one-line report goes. Default: `console.info`. */
  log?: (message: string) => void;
  /**
   * Use webgl even when it is software-rendered (SwiftShader, llvmpipe, "Basic Render
   * Driver", …), which is about 30× slower than cpu for Neural Module layers. Default
   * false: such a webgl is skipped. `NM_BACKEND=webgl` also forces it.
   */
  allowSoftwareWebgl?: boolean;
  /** Returns the WebGL renderer string (null: no WebGL). Default: read through a canvas. Inject in tests. */
  webglRenderer?: () => string | null;
  /**
   * Kernel threads to run the package's WebAssembly kernels on once the backend is chosen
   * ({@link setThreads}): an integer in [1, 64] or 'auto' (every available core where
   * threads work, else 1). Default: leave the current setting (1 unless set).
   */
  threads?: number | 'auto';
  /**
   * true: on the wasm backend, also install {@link fastTransposedMatMul} (tfjs-wasm's
   * transposed matMul is 10–25× slower than transposing first). false: remove it, restoring
   * tfjs-wasm's own kernels. Default: undefined, which leaves the kernel registration as it
   * is (it is process-wide, which is why installing is opt-in).
   */
  fastTransposedMatMul?: boolean;
}

/** One backend that {@link useBest} tried. */
export interface BackendAttempt {
  /** Which backend. */
  name: BackendName;
  /** True when it was selected and initialised. */
  ok: boolean;
  /**
   * True when its package could not be imported by name (skipped, not broken): in Node it
   * is not installed; in a browser the page did not import it (`error` says how to).
   */
  absent?: boolean;
  /** Why it was not used, when `ok` is false. */
  error?: string;
  /** For webgl, when known: the renderer string WebGL reported. */
  renderer?: string;
  /** For webgl: true when the renderer is a software rasterizer (then skipped unless allowed). */
  software?: boolean;
}

/** What {@link useBest} chose. */
export interface UseBestResult {
  /** The backend in use now (our name, as in `NM_BACKEND`). */
  backend: BackendName;
  /** The same, as tfjs names it (`tf.getBackend()`): `'tensorflow'` for node and node-gpu. */
  tfBackend: string;
  /** Every backend tried, in order, ending with the chosen one. */
  tried: BackendAttempt[];
  /** True when `NM_BACKEND` forced the choice. */
  forced: boolean;
  /** Kernel threads in use after the call ({@link threads}). */
  threads: number;
  /**
   * True when the chosen backend runs the fast transposed matMul after the call (installed
   * by this call or an earlier one); read from tfjs' kernel registry.
   */
  fastTransposedMatMul: boolean;
  /**
   * The arithmetic of the products in the package's WebAssembly kernels (the host engine's
   * solves and graph gradient on the cpu and wasm backends): 'fma' (fused multiply-add,
   * where WebAssembly relaxed SIMD is available: Node ≥ 22, Chrome ≥ 114) or 'muladd'
   * (Node 20, or forced with `NM_KERNELS=muladd`). Results differ between the two in
   * the last bits; see docs/DESIGN.md, "Kernel arithmetic".
   */
  kernelVariant: KernelVariant;
}

const KNOWN_OPTIONS = ['quiet', 'importer', 'env', 'runtime', 'log', 'allowSoftwareWebgl', 'webglRenderer', 'threads', 'fastTransposedMatMul'] as const;

/** The last backend announced, so repeated calls log only when it changes. */
let lastLogged: string | null = null;

/** Forgets which backend was logged (for tests). */
export function resetBackendLog(): void {
  lastLogged = null;
}

/** A dynamic import that bundlers leave alone (the packages are optional). */
const defaultImporter = (specifier: string): Promise<unknown> => import(/* @vite-ignore */ /* webpackIgnore: true */ specifier);

/** Loads the package of `name` if its backend is not registered yet, then activates it. */
async function tryBackend(name: BackendName, importer: (specifier: string) => Promise<unknown>, inNode: boolean): Promise<BackendAttempt> {
  const { specifier, tfName } = CANDIDATES[name];
  // node and node-gpu register the same tfjs name: always import to know which one is there.
  const native = name === 'node' || name === 'node-gpu';
  if (native || tf.findBackendFactory(tfName) == null) {
    try {
      await importer(specifier);
    } catch (e) {
      if (isAbsent(e, specifier)) return { name, ok: false, absent: true, error: absentMessage(name, inNode) };
      return { name, ok: false, error: `importing ${specifier} failed: ${(e as Error)?.message ?? show(e)}` };
    }
  }
  if (tf.findBackendFactory(tfName) == null) {
    return { name, ok: false, error: `${specifier} loaded but registered no '${tfName}' backend with this copy of tfjs-core` };
  }
  try {
    const ok = await tf.setBackend(tfName);
    if (!ok) return { name, ok: false, error: `tf.setBackend('${tfName}') failed to initialise it (see the warning above)` };
    await tf.ready();
  } catch (e) {
    return { name, ok: false, error: `initialising '${tfName}' failed: ${(e as Error)?.message ?? show(e)}` };
  }
  return { name, ok: true };
}

/** Reads and checks `NM_BACKEND`; undefined when unset or empty. */
function forcedBackend(env: Record<string, string | undefined>): BackendName | undefined {
  const raw = env.NM_BACKEND;
  if (raw == null || raw.trim() === '') return undefined;
  const value = raw.trim().toLowerCase();
  if (!(BACKEND_NAMES as readonly string[]).includes(value)) {
    throw new ConfigError(
      `nm.backend.useBest: environment variable NM_BACKEND must be one of ${BACKEND_NAMES.map((b) => `'${b}'`).join(', ')}; ` +
        `received ${show(raw)}. Set it to one of those, or unset it to pick the best available backend.`,
    );
  }
  return value as BackendName;
}

/**
 * Selects the best available tfjs backend and makes it the active one.
 *
 * Order in Node: `@tensorflow/tfjs-node-gpu`, `@tensorflow/tfjs-node`, WebAssembly
 * (`@tensorflow/tfjs-backend-wasm`), then plain JavaScript (cpu). In a browser:
 * webgl, wasm, cpu, where webgl is skipped when WebGL is software-rendered (SwiftShader,
 * llvmpipe, "Basic Render Driver", …: about 30× slower than cpu for NM layers; the
 * renderer is read with `WEBGL_debug_renderer_info` and the skip is reported in `tried`).
 * Packages are loaded with dynamic imports, so none of them is
 * required: a missing package is skipped, and a package that is installed but
 * fails to load (e.g. tfjs-node without its native library) is reported in
 * `tried` and the next one is tried. The environment variable
 * `NM_BACKEND=node-gpu|node|wasm|webgl|cpu` forces one choice instead.
 * The chosen backend is logged once with `console.info` (again only if a later
 * call picks a different one); `{ quiet: true }` silences it.
 *
 * When to use: once at program start, before building models, in scripts that
 * should run fast wherever they are started without configuring each machine.
 *
 * Caveats:
 * - tfjs-node and tfjs-node-gpu are optional peer dependencies: install one
 *   yourself to get native speed (`npm i @tensorflow/tfjs-node`).
 * - In a browser, a package cannot be imported by name at run time: import the backends
 *   the page may use (e.g. `import '@tensorflow/tfjs-backend-wasm'`, or its script tag)
 *   before calling this; `tried` says so for each one that was not imported.
 * - Tensors created before the switch stay on their old backend; call this first.
 * - With a forced `NM_BACKEND` that is not installed or fails, it throws a
 *   `ConfigError` instead of falling back.
 * - A backend package that bundles its own copy of tfjs-core (mismatched
 *   versions) registers into that copy; the result then reports it as not registered.
 *
 * @example
 * ```ts
 * const { backend, tried } = await nm.backend.useBest();
 * // Node without tfjs-node: backend === 'wasm', tried lists node-gpu and node as absent.
 * ```
 */
export async function useBest(opts: UseBestOptions = {}): Promise<UseBestResult> {
  if (typeof opts !== 'object' || opts === null) fail('nm.backend.useBest', 'opts', opts, 'an options object or undefined');
  checkKeys('nm.backend.useBest', opts, KNOWN_OPTIONS);
  if (opts.importer !== undefined && typeof opts.importer !== 'function') {
    fail('nm.backend.useBest', 'importer', opts.importer, 'a function (specifier) => Promise<module>');
  }
  if (opts.webglRenderer !== undefined && typeof opts.webglRenderer !== 'function') {
    fail('nm.backend.useBest', 'webglRenderer', opts.webglRenderer, 'a function () => string | null');
  }
  if (opts.threads !== undefined && opts.threads !== 'auto' && !(Number.isInteger(opts.threads) && opts.threads >= 1 && opts.threads <= MAX_THREADS)) {
    fail('nm.backend.useBest', 'threads', opts.threads, `'auto' or an integer in [1, ${MAX_THREADS}]`);
  }
  if (opts.fastTransposedMatMul !== undefined && typeof opts.fastTransposedMatMul !== 'boolean') {
    fail('nm.backend.useBest', 'fastTransposedMatMul', opts.fastTransposedMatMul, 'true or false');
  }
  if (opts.runtime !== undefined && opts.runtime !== 'node' && opts.runtime !== 'browser') {
    fail('nm.backend.useBest', 'runtime', opts.runtime, "'node' or 'browser'");
  }
  const importer = opts.importer ?? defaultImporter;
  const env = opts.env ?? processEnv();
  const forced = forcedBackend(env);
  const inNode = opts.runtime ? opts.runtime === 'node' : isNodeRuntime();
  const order = forced ? [forced] : inNode ? NODE_ORDER : BROWSER_ORDER;

  const tried: BackendAttempt[] = [];
  for (const name of order) {
    let gl: Pick<BackendAttempt, 'renderer' | 'software'> = {};
    if (name === 'webgl') {
      const info = classifyWebglRenderer((opts.webglRenderer ?? readWebglRenderer)());
      if (info.renderer != null) gl = { renderer: info.renderer, software: info.software };
      if (info.software && !forced && !opts.allowSoftwareWebgl) {
        tried.push({
          name,
          ok: false,
          error:
            `WebGL is software-rendered (${info.label}), about 30x slower than cpu for Neural Module layers; skipped ` +
            `(NM_BACKEND=webgl or { allowSoftwareWebgl: true } uses it anyway)`,
          ...gl,
        });
        continue;
      }
    }
    const attempt = { ...(await tryBackend(name, importer, inNode)), ...gl };
    tried.push(attempt);
    if (attempt.ok) {
      const threadCount = opts.threads === undefined ? threads() : await setThreads(opts.threads);
      if (opts.fastTransposedMatMul === true && tf.getBackend() === 'wasm') fastTransposedMatMul();
      if (opts.fastTransposedMatMul === false) fastTransposedMatMul({ enable: false });
      const result: UseBestResult = {
        backend: name,
        tfBackend: tf.getBackend(),
        tried,
        forced: forced !== undefined,
        threads: threadCount,
        fastTransposedMatMul: fastTransposedMatMulInstalled(tf.getBackend()),
        kernelVariant: kernelVariant(),
      };
      announce(result, opts, inNode);
      return result;
    }
  }
  const report = tried.map((t) => `${t.name}: ${t.error}`).join('; ');
  if (forced) {
    throw new ConfigError(
      `nm.backend.useBest: NM_BACKEND=${forced} was requested but that backend is unavailable (${report}). ` +
        `${inNode ? 'Install' : 'Import'} ${CANDIDATES[forced].specifier}, or unset NM_BACKEND to pick the best available backend.`,
    );
  }
  throw new ConfigError(
    `nm.backend.useBest: no tfjs backend could be initialised (${report}). ` +
      `Install @tensorflow/tfjs (which includes cpu and webgl) or @tensorflow/tfjs-backend-cpu.`,
  );
}

function announce(result: UseBestResult, opts: UseBestOptions, inNode: boolean): void {
  if (opts.quiet || lastLogged === result.backend) return;
  lastLogged = result.backend;
  const skipped = result.tried
    .filter((t) => !t.ok)
    .map((t) => `${t.name} ${t.absent ? (inNode ? 'not installed' : 'not imported') : t.software ? 'software-rendered, skipped' : 'failed'}`);
  const why = result.forced ? ' (forced by NM_BACKEND)' : skipped.length ? ` (${skipped.join(', ')})` : '';
  const extras = [result.threads > 1 ? `${result.threads} kernel threads` : '', result.fastTransposedMatMul ? 'fast transposed matMul' : ''].filter(Boolean);
  (opts.log ?? console.info)(`tfjs-neural-modules: using the ${result.backend} backend${why}${extras.length ? `, ${extras.join(', ')}` : ''}.`);
}
