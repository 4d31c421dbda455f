import * as tf from '@tensorflow/tfjs-core';
import { MathBackendCPU } from '@tensorflow/tfjs-backend-cpu';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import {
  BACKEND_NAMES,
  classifyWebglRenderer,
  fastTransposedMatMul,
  kernelVariant,
  setThreads,
  threads,
  useBest,
  webglRenderer,
} from '../src/backend/index.js';
import '@tensorflow/tfjs-backend-wasm';
import { resetBackendLog } from '../src/backend/use_best.js';
import { absentMessage, isAbsent } from '../src/backend/candidates.js';
import { useKernelVariant } from '../src/kernels/index.js';
import { relaxedSimdSupported } from '../src/kernels/relaxed_simd.js';

const WASM = '@tensorflow/tfjs-backend-wasm';

/** The error Node's ESM loader throws for a package that is not installed. */
function notFound(specifier: string): Error {
  return Object.assign(new Error(`Cannot find package '${specifier}' imported from /app/select.js`), {
    code: 'ERR_MODULE_NOT_FOUND',
  });
}

/**
 * An importer that simulates which packages are installed: `absent` ones throw
 * ERR_MODULE_NOT_FOUND, `broken` ones throw another error, `fakeNative` ones
 * register a 'tensorflow' backend (as tfjs-node does), the rest load for real.
 */
function importer(opts: { absent?: string[]; broken?: string[]; fakeNative?: string[] } = {}) {
  const calls: string[] = [];
  const fn = async (specifier: string): Promise<unknown> => {
    calls.push(specifier);
    if (opts.absent?.includes(specifier)) throw notFound(specifier);
    if (opts.broken?.includes(specifier)) throw new Error('libtensorflow.so: cannot open shared object file');
    if (opts.fakeNative?.includes(specifier)) {
      if (tf.findBackendFactory('tensorflow') == null) tf.registerBackend('tensorflow', () => new MathBackendCPU());
      return {};
    }
    return import(specifier);
  };
  return Object.assign(fn, { calls });
}

const NATIVE = ['@tensorflow/tfjs-node-gpu', '@tensorflow/tfjs-node'];
/** tfjs-wasm's own BatchMatMul and _FusedMatMul, before any fastTransposedMatMul. */
const originalMatMul = tf.getKernel(tf.BatchMatMul, 'wasm')?.kernelFunc;
const originalFused = tf.getKernel(tf._FusedMatMul, 'wasm')?.kernelFunc;
let log: ReturnType<typeof vi.fn<(message: string) => void>>;

beforeEach(() => {
  resetBackendLog();
  log = vi.fn<(message: string) => void>();
});
afterEach(() => {
  if (tf.findBackendFactory('tensorflow') != null) tf.removeBackend('tensorflow');
});

describe('nm.backend.useBest', () => {
  it('without tfjs-node-gpu and tfjs-node, chooses wasm in Node and reports the absent packages', async () => {
    const imp = importer({ absent: NATIVE });
    const result = await useBest({ importer: imp, env: {}, runtime: 'node', log });
    expect(result.backend).toBe('wasm');
    expect(result.tfBackend).toBe('wasm');
    expect(tf.getBackend()).toBe('wasm');
    expect(result.forced).toBe(false);
    expect(result.tried).toEqual([
      { name: 'node-gpu', ok: false, absent: true, error: '@tensorflow/tfjs-node-gpu is not installed' },
      { name: 'node', ok: false, absent: true, error: '@tensorflow/tfjs-node is not installed' },
      { name: 'wasm', ok: true },
    ]);
    expect(imp.calls.slice(0, 2)).toEqual(NATIVE);
    expect(log).toHaveBeenCalledTimes(1);
    expect(log.mock.calls[0][0]).toBe('tfjs-neural-modules: using the wasm backend (node-gpu not installed, node not installed).');
    expect(tf.add(tf.tensor1d([1, 2]), tf.tensor1d([3, 4])).arraySync()).toEqual([4, 6]);
  });

  it('threads and fastTransposedMatMul: one call sets up the fast configuration, and says so', async () => {
    const imp = importer({ absent: NATIVE });
    try {
      const result = await useBest({ importer: imp, env: {}, runtime: 'node', log, threads: 2, fastTransposedMatMul: true });
      expect(result).toMatchObject({ backend: 'wasm', threads: 2, fastTransposedMatMul: true });
      expect(threads()).toBe(2);
      expect(tf.getKernel(tf.BatchMatMul, 'wasm')?.kernelFunc).not.toBe(originalMatMul);
      expect(log.mock.calls[0][0]).toBe(
        'tfjs-neural-modules: using the wasm backend (node-gpu not installed, node not installed), 2 kernel threads, fast transposed matMul.',
      );
      await expect(useBest({ importer: imp, env: {}, runtime: 'node', threads: 0 })).rejects.toThrow(
        /nm\.backend\.useBest: 'threads' must be 'auto' or an integer in \[1, 64\]; received 0/,
      );
      await expect(useBest({ importer: imp, env: {}, runtime: 'node', fastTransposedMatMul: 'yes' as never })).rejects.toThrow(/'fastTransposedMatMul'/);
    } finally {
      await setThreads(1);
      fastTransposedMatMul({ enable: false });
    }
    expect(tf.getKernel(tf.BatchMatMul, 'wasm')?.kernelFunc).toBe(originalMatMul);
  });

  it(`reports the kernels' arithmetic: 'fma' exactly where relaxed SIMD validates (here: ${relaxedSimdSupported()}), 'muladd' when forced`, async () => {
    const imp = importer({ absent: NATIVE });
    try {
      expect((await useBest({ importer: imp, env: {}, runtime: 'node', quiet: true })).kernelVariant).toBe(relaxedSimdSupported() ? 'fma' : 'muladd');
      expect(kernelVariant()).toBe(relaxedSimdSupported() ? 'fma' : 'muladd');
      useKernelVariant('muladd');
      expect((await useBest({ importer: imp, env: {}, runtime: 'node', quiet: true })).kernelVariant).toBe('muladd');
      expect(kernelVariant()).toBe('muladd');
    } finally {
      useKernelVariant('auto');
    }
  });

  it('reports whether the fast transposed matMul is registered; fastTransposedMatMul: false restores tfjs-wasm kernels', async () => {
    const imp = importer({ absent: NATIVE });
    const opts = { importer: imp, env: {}, runtime: 'node', quiet: true } as const;
    expect(originalMatMul).toBeTypeOf('function');
    expect(originalFused).toBeTypeOf('function');
    try {
      expect(fastTransposedMatMul()).toBe(true);
      // Left as it is, and reported as it is.
      expect((await useBest(opts)).fastTransposedMatMul).toBe(true);
      expect(tf.getKernel(tf.BatchMatMul, 'wasm')?.kernelFunc).not.toBe(originalMatMul);
      // false takes it off: tfjs-wasm's own kernel functions are registered again.
      expect((await useBest({ ...opts, fastTransposedMatMul: false })).fastTransposedMatMul).toBe(false);
      expect(tf.getKernel(tf.BatchMatMul, 'wasm')?.kernelFunc).toBe(originalMatMul);
      expect(tf.getKernel(tf._FusedMatMul, 'wasm')?.kernelFunc).toBe(originalFused);
      expect((await useBest(opts)).fastTransposedMatMul).toBe(false);
      // The report follows the registry, whoever changed it.
      expect((await useBest({ ...opts, fastTransposedMatMul: true })).fastTransposedMatMul).toBe(true);
      expect(fastTransposedMatMul({ enable: false })).toBe(false);
      expect((await useBest(opts)).fastTransposedMatMul).toBe(false);
    } finally {
      fastTransposedMatMul({ enable: false });
    }
  });

  it('logs the chosen backend once across repeated calls, and never when quiet', async () => {
    const imp = importer({ absent: NATIVE });
    await useBest({ importer: imp, env: {}, runtime: 'node', log });
    await useBest({ importer: imp, env: {}, runtime: 'node', log });
    expect(log).toHaveBeenCalledTimes(1);

    resetBackendLog();
    const quietLog = vi.fn<(message: string) => void>();
    await useBest({ importer: imp, env: {}, runtime: 'node', log: quietLog, quiet: true });
    expect(quietLog).not.toHaveBeenCalled();
  });

  it('prefers tfjs-node when it is installed, and reports a broken tfjs-node-gpu', async () => {
    const imp = importer({ broken: ['@tensorflow/tfjs-node-gpu'], fakeNative: ['@tensorflow/tfjs-node'] });
    const result = await useBest({ importer: imp, env: {}, runtime: 'node', log });
    expect(result.backend).toBe('node');
    expect(result.tfBackend).toBe('tensorflow');
    expect(result.tried[0]).toEqual({
      name: 'node-gpu',
      ok: false,
      error: 'importing @tensorflow/tfjs-node-gpu failed: libtensorflow.so: cannot open shared object file',
    });
    expect(result.tried[1]).toEqual({ name: 'node', ok: true });
    expect(log.mock.calls[0][0]).toBe('tfjs-neural-modules: using the node backend (node-gpu failed).');
  });

  it('NM_BACKEND=cpu forces cpu even when better backends exist', async () => {
    const imp = importer({ fakeNative: NATIVE });
    const result = await useBest({ importer: imp, env: { NM_BACKEND: 'cpu' }, runtime: 'node', log });
    expect(result).toMatchObject({ backend: 'cpu', tfBackend: 'cpu', forced: true, tried: [{ name: 'cpu', ok: true }] });
    expect(imp.calls.filter((c) => NATIVE.includes(c))).toEqual([]);
    expect(log.mock.calls[0][0]).toBe('tfjs-neural-modules: using the cpu backend (forced by NM_BACKEND).');
  });

  it('reads NM_BACKEND from process.env by default', async () => {
    vi.stubEnv('NM_BACKEND', 'wasm');
    try {
      const result = await useBest({ importer: importer(), runtime: 'node', quiet: true });
      expect(result).toMatchObject({ backend: 'wasm', forced: true });
    } finally {
      vi.unstubAllEnvs();
    }
  });

  it('an unknown NM_BACKEND value is an error that lists the valid ones', async () => {
    await expect(useBest({ importer: importer(), env: { NM_BACKEND: 'tpu' }, log })).rejects.toThrow(
      `nm.backend.useBest: environment variable NM_BACKEND must be one of 'node-gpu', 'node', 'wasm', 'webgl', 'cpu'; received "tpu".`,
    );
    expect(BACKEND_NAMES).toEqual(['node-gpu', 'node', 'wasm', 'webgl', 'cpu']);
    expect(log).not.toHaveBeenCalled();
  });

  it('a forced backend that is not installed is an error naming the package', async () => {
    const before = tf.getBackend();
    await expect(useBest({ importer: importer({ absent: NATIVE }), env: { NM_BACKEND: 'node' }, log })).rejects.toThrow(
      /NM_BACKEND=node was requested but that backend is unavailable \(node: @tensorflow\/tfjs-node is not installed\)\. Install @tensorflow\/tfjs-node, or unset NM_BACKEND/,
    );
    expect(tf.getBackend()).toBe(before);
  });

  it('in a browser, tries webgl first and falls back when it cannot initialise', async () => {
    const imp = importer({ absent: ['@tensorflow/tfjs-backend-webgl'] });
    const result = await useBest({ importer: imp, env: {}, runtime: 'browser', log });
    expect(result.backend).toBe('wasm');
    expect(result.tried[0]).toMatchObject({ name: 'webgl', ok: false, absent: true });
    expect(imp.calls).not.toContain('@tensorflow/tfjs-node');
  });

  it('when nothing else works, falls back to cpu; rejects unknown options', async () => {
    const imp = importer({ absent: [...NATIVE], broken: ['@tensorflow/tfjs-backend-wasm'] });
    // wasm is already registered by earlier tests, so "broken" only matters if it were missing: remove it.
    tf.removeBackend('wasm');
    const result = await useBest({ importer: imp, env: {}, runtime: 'node', log });
    expect(result.backend).toBe('cpu');
    expect(result.tried.map((t) => [t.name, t.ok])).toEqual([
      ['node-gpu', false],
      ['node', false],
      ['wasm', false],
      ['cpu', true],
    ]);
    expect(result.tried[2].error).toMatch(/^importing @tensorflow\/tfjs-backend-wasm failed: libtensorflow/);
    await expect(useBest({ quite: true } as never)).rejects.toThrow(/unknown option 'quite'/);
  });
});

describe('a browser page that did not import a backend package', () => {
  /** What Chromium, Firefox and Safari throw for `import('<bare specifier>')` without an import map. */
  const unresolved = (specifier: string) => [
    new TypeError(`Failed to resolve module specifier "${specifier}". Relative references must start with either "/", "./", or "../".`),
    new TypeError(
      `The specifier “${specifier}” was a bare specifier, but was not remapped to anything. Relative module specifiers must start with “./”, “../” or “/”.`,
    ),
    new TypeError(`Module name, '${specifier}' does not resolve to a valid URL.`),
  ];

  it('the browsers\' unresolved-specifier errors count as "not imported", not as broken', () => {
    for (const e of unresolved(WASM)) expect(isAbsent(e, WASM), e.message).toBe(true);
    expect(isAbsent(unresolved('@tensorflow/tfjs-backend-webgl')[0], WASM)).toBe(false);
  });

  it('the message says how to load the package, not that it is not installed', () => {
    const wasm = absentMessage('wasm', false);
    expect(wasm).toContain("import '@tensorflow/tfjs-backend-wasm';");
    expect(wasm).toContain('tf-backend-wasm.min.js');
    expect(wasm).toContain('setWasmPaths(');
    expect(wasm).not.toContain('not installed');
    expect(absentMessage('webgl', false)).toContain("import '@tensorflow/tfjs-backend-webgl';");
    expect(absentMessage('webgl', false)).toContain("import '@tensorflow/tfjs';");
    expect(absentMessage('node', false)).toBe('@tensorflow/tfjs-node is not available in a browser (it runs in Node only)');
    // In Node, importing by name fails only when the package is not installed.
    expect(absentMessage('wasm', true)).toBe('@tensorflow/tfjs-backend-wasm is not installed');
  });

  it('useBest in a browser reports an unimported wasm package with how to import it', async () => {
    // No wasm backend registered (an earlier test removed it), as on a page that did not import it.
    if (tf.findBackendFactory('wasm') != null) tf.removeBackend('wasm');
    for (const thrown of unresolved(WASM)) {
      resetBackendLog();
      const calls: string[] = [];
      const pageImport = async (specifier: string) => {
        calls.push(specifier);
        throw specifier === WASM ? thrown : unresolved(specifier)[0];
      };
      const result = await useBest({ importer: pageImport, env: {}, runtime: 'browser', log, webglRenderer: () => null });
      expect(calls).toEqual(['@tensorflow/tfjs-backend-webgl', WASM]);
      expect(result.backend).toBe('cpu');
      expect(result.tried[1]).toEqual({ name: 'wasm', ok: false, absent: true, error: absentMessage('wasm', false) });
      expect(result.tried[1].error).toMatch(/^@tensorflow\/tfjs-backend-wasm is not loaded \(a browser cannot import a package by name at run time/);
      expect(log.mock.calls.at(-1)?.[0]).toBe('tfjs-neural-modules: using the cpu backend (webgl not imported, wasm not imported).');
    }
  });
});

describe('software WebGL', () => {
  const SOFTWARE = [
    ['ANGLE (Google, Vulkan 1.3.0 (SwiftShader Device (Subzero) (0x0000C0DE)), SwiftShader driver)', 'SwiftShader'],
    ['Google SwiftShader', 'SwiftShader'],
    ['llvmpipe (LLVM 15.0.7, 256 bits)', 'llvmpipe'],
    ['Mesa/X.org, llvmpipe (LLVM 12.0.0, 256 bits)', 'llvmpipe'],
    ['ANGLE (Microsoft, Microsoft Basic Render Driver Direct3D11 vs_5_0 ps_5_0, D3D11)', 'Basic Render Driver'],
    ['Apple Software Renderer', 'Apple'],
    ['softpipe', 'softpipe'],
  ] as const;
  const HARDWARE = [
    ['ANGLE (NVIDIA, NVIDIA GeForce RTX 3080 Direct3D11 vs_5_0 ps_5_0, D3D11)', 'NVIDIA'],
    ['Mesa Intel(R) UHD Graphics 620 (KBL GT2)', 'Intel'],
    ['AMD Radeon Pro 5500M OpenGL Engine', 'AMD'],
    ['Apple M1', 'Apple'],
    ['Mali-G78', 'Mali'],
    ['Adreno (TM) 650', 'Adreno'],
  ] as const;

  it('classifies renderer strings: software rasterizers vs GPUs', () => {
    for (const [r, label] of SOFTWARE) expect(classifyWebglRenderer(r), r).toEqual({ renderer: r, software: true, label });
    for (const [r, label] of HARDWARE) expect(classifyWebglRenderer(r), r).toEqual({ renderer: r, software: false, label });
    for (const none of [null, undefined, '', '  ']) expect(classifyWebglRenderer(none)).toEqual({ renderer: null, software: false, label: null });
    // No DOM here: no renderer to read.
    expect(webglRenderer()).toBeNull();
  });

  const WEBGL = '@tensorflow/tfjs-backend-webgl';
  const swiftShader = () => SOFTWARE[0][0];

  it('useBest skips a software-rendered webgl without loading it, and says why', async () => {
    const imp = importer({ absent: [WEBGL] });
    const result = await useBest({ importer: imp, env: {}, runtime: 'browser', log, webglRenderer: swiftShader });
    // wasm, or cpu when an earlier test removed wasm.
    expect(['wasm', 'cpu']).toContain(result.backend);
    expect(imp.calls).not.toContain(WEBGL);
    expect(result.tried[0]).toEqual({
      name: 'webgl',
      ok: false,
      software: true,
      renderer: swiftShader(),
      error:
        'WebGL is software-rendered (SwiftShader), about 30x slower than cpu for Neural Module layers; skipped ' +
        '(NM_BACKEND=webgl or { allowSoftwareWebgl: true } uses it anyway)',
    });
    expect(log.mock.calls[0][0]).toMatch(/^tfjs-neural-modules: using the (wasm|cpu) backend \(webgl software-rendered, skipped[,)]/);
  });

  it('a hardware renderer, allowSoftwareWebgl and NM_BACKEND=webgl all try webgl', async () => {
    const gpu = () => HARDWARE[0][0];
    const hw = importer({ absent: [WEBGL] });
    const r1 = await useBest({ importer: hw, env: {}, runtime: 'browser', quiet: true, webglRenderer: gpu });
    expect(hw.calls).toContain(WEBGL);
    expect(r1.tried[0]).toMatchObject({ name: 'webgl', ok: false, absent: true, software: false, renderer: gpu() });

    const allowed = importer({ absent: [WEBGL] });
    await useBest({ importer: allowed, env: {}, runtime: 'browser', quiet: true, webglRenderer: swiftShader, allowSoftwareWebgl: true });
    expect(allowed.calls).toContain(WEBGL);

    const forced = importer({ absent: [WEBGL] });
    await expect(useBest({ importer: forced, env: { NM_BACKEND: 'webgl' }, runtime: 'browser', quiet: true, webglRenderer: swiftShader })).rejects.toThrow(
      /NM_BACKEND=webgl was requested but that backend is unavailable \(webgl: @tensorflow\/tfjs-backend-webgl is not loaded \(a browser cannot import .*; with script tags, tf\.min\.js includes it\)\. Import @tensorflow\/tfjs-backend-webgl, or unset NM_BACKEND/,
    );
    expect(forced.calls).toContain(WEBGL);
  });
});
