/**
 * Every assumption src/tfjs_internals/ makes about tfjs, checked against the installed
 * tfjs: the version it was written against, the methods it patches (they exist and
 * tfjs really calls them where the package relies on it) and the backend fields it
 * reads (they exist, with the meaning the package gives them). A tfjs upgrade that
 * changes any of them turns this file red before it can silently slow or break the
 * package.
 */
import * as tf from '@tensorflow/tfjs';
import { version_cpu } from '@tensorflow/tfjs-backend-cpu';
import { getThreadsCount, version_wasm } from '@tensorflow/tfjs-backend-wasm';
import { CallbackList, CustomCallback, LayersModel } from '@tensorflow/tfjs-layers';
import { readdirSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { currentPhase, trackCallPhases, type CallPhase } from '../src/tfjs_internals/call_phase.js';
import { CALLBACK_BRAND, wrapPlainCallbacksBesideOurs } from '../src/tfjs_internals/callback_list.js';
import { heapOffset, hostView, uninitializedTensor, wasmMemory, wasmRecord } from '../src/tfjs_internals/host_view.js';
import { isKernelWrapper, unwrapKernel, wrapKernel } from '../src/tfjs_internals/kernel_swap.js';
import { onVariableWrite } from '../src/tfjs_internals/variable_write.js';
import { checkTfjsVersion, TFJS_INTERNALS, WRITTEN_AGAINST } from '../src/tfjs_internals/versions.js';
import { BACKENDS, useBackend } from './helpers/backends.js';

describe('tfjs versions', () => {
  it(`the installed tfjs-core, tfjs-layers, tfjs-backend-wasm and tfjs-backend-cpu are ${WRITTEN_AGAINST}.x`, () => {
    const wasmAndCpu = { '@tensorflow/tfjs-backend-wasm': version_wasm, '@tensorflow/tfjs-backend-cpu': version_cpu } as const;
    expect(checkTfjsVersion(wasmAndCpu)).toEqual([]);
  });

  it('a different minor version is reported with the files that rely on that package', () => {
    expect(checkTfjsVersion({ '@tensorflow/tfjs-backend-wasm': '4.23.0' })).toEqual([
      { package: '@tensorflow/tfjs-backend-wasm', found: '4.23.0', expected: WRITTEN_AGAINST, files: ['host_view.ts'] },
    ]);
    expect(checkTfjsVersion({ '@tensorflow/tfjs-backend-cpu': '4.2.0' })[0]?.found).toBe('4.2.0');
  });

  it('every file of src/tfjs_internals/ is listed in TFJS_INTERNALS', () => {
    const files = readdirSync(new URL('../src/tfjs_internals/', import.meta.url)).filter((f) => f !== 'versions.ts');
    expect(TFJS_INTERNALS.map((i) => i.file).sort()).toEqual(files.sort());
  });
});

/** A layer that records the call phase each time it runs. */
class PhaseProbe extends tf.layers.Layer {
  static className = 'PhaseProbe';
  seen: CallPhase[] = [];
  override call(inputs: tf.Tensor | tf.Tensor[]): tf.Tensor {
    this.seen.push(currentPhase().phase);
    return Array.isArray(inputs) ? inputs[0] : inputs;
  }
}

describe('call_phase.ts: LayersModel.prototype', () => {
  const METHODS = ['fit', 'fitDataset', 'evaluate', 'evaluateDataset', 'predict', 'predictOnBatch'];

  it('has the six model methods it wraps', () => {
    const proto = LayersModel.prototype as unknown as Record<string, unknown>;
    for (const name of METHODS) expect(typeof proto[name], name).toBe('function');
  });

  for (const kind of ['sequential', 'functional'] as const) {
    it(`every call of a ${kind} model runs through them (the layer sees the phase)`, async () => {
      await useBackend('cpu');
      trackCallPhases();
      const probe = new PhaseProbe({});
      const dense = tf.layers.dense({ units: 1, kernelInitializer: 'ones' });
      let model: tf.LayersModel;
      if (kind === 'sequential') {
        model = tf.sequential({ layers: [tf.layers.inputLayer({ inputShape: [2] }), probe, dense] });
      } else {
        const input = tf.input({ shape: [2] });
        model = tf.model({ inputs: input, outputs: dense.apply(probe.apply(input)) as tf.SymbolicTensor });
      }
      model.compile({ optimizer: tf.train.sgd(0), loss: 'meanSquaredError' });
      const x = tf.ones([4, 2]);
      const y = tf.zeros([4, 1]);
      const data = tf.data.zip({ xs: tf.data.array([[1, 1]]), ys: tf.data.array([[0]]) }).batch(1);
      const expected: Array<[CallPhase, () => Promise<unknown>]> = [
        ['fit', () => model.fit(x, y, { epochs: 1, verbose: 0 })],
        ['fit', () => model.fitDataset(data as tf.data.Dataset<never>, { epochs: 1, verbose: 0 })],
        ['evaluate', async () => tf.dispose(model.evaluate(x, y))],
        ['evaluate', async () => tf.dispose(await model.evaluateDataset(data as tf.data.Dataset<never>, {}))],
        ['predict', async () => tf.dispose(model.predict(x))],
        ['predict', async () => tf.dispose(model.predictOnBatch(x))],
        ['direct', async () => tf.dispose(probe.apply(x) as tf.Tensor)],
      ];
      for (const [phase, run] of expected) {
        probe.seen = [];
        await run();
        expect(probe.seen.length, phase).toBeGreaterThan(0);
        expect(new Set(probe.seen), phase).toEqual(new Set([phase]));
      }
      expect(currentPhase().phase).toBe('direct');
      tf.dispose([x, y]);
      model.layers.forEach((l) => l.dispose());
    });
  }
});

describe('callback_list.ts: CallbackList.prototype.setParams', () => {
  /** A callback object marked as the package's. */
  function branded(): tf.CustomCallback {
    const cb = new CustomCallback({});
    Object.defineProperty(cb, CALLBACK_BRAND, { value: true });
    return cb;
  }

  it('keeps the callbacks in the array field `callbacks`, and setParams is a method of one argument', () => {
    const list = new CallbackList([]);
    expect(Array.isArray((list as unknown as { callbacks: unknown }).callbacks)).toBe(true);
    expect(typeof CallbackList.prototype.setParams).toBe('function');
  });

  it('fit calls setParams on the list of the user callbacks before any hook: a plain object may follow one of ours', async () => {
    await useBackend('cpu');
    wrapPlainCallbacksBesideOurs();
    const model = tf.sequential({ layers: [tf.layers.dense({ inputShape: [1], units: 1 })] });
    model.compile({ optimizer: tf.train.sgd(0), loss: 'meanSquaredError' });
    const epochs: number[] = [];
    const x = tf.ones([2, 1]);
    await model.fit(x, x, { epochs: 2, verbose: 0, callbacks: [branded(), { onEpochEnd: async (e: number) => void epochs.push(e) }] as never });
    expect(epochs).toEqual([0, 1]);
    x.dispose();
    model.layers.forEach((l) => l.dispose());
  });

  it('leaves a list without one of ours as tfjs built it (a plain object after a callback object still fails as in tfjs)', () => {
    wrapPlainCallbacksBesideOurs();
    const plain = { onEpochEnd: async () => {} };
    const list = new CallbackList([new CustomCallback({}), plain as never]);
    expect(() => list.setParams({})).toThrow(/setParams is not a function/);
    expect((list as unknown as { callbacks: unknown[] }).callbacks[1]).toBe(plain);
  });
});

describe('variable_write.ts: LayerVariable.write', () => {
  it('setWeights and loadWeights (model loading) write every weight through it', async () => {
    await useBackend('cpu');
    const model = tf.sequential({ layers: [tf.layers.dense({ inputShape: [2], units: 1, name: 'd' })] });
    const writes: string[] = [];
    for (const v of model.layers[0].weights) onVariableWrite(v, () => writes.push(v.name));
    model.layers[0].setWeights([tf.ones([2, 1]), tf.zeros([1])]);
    expect(writes.sort()).toEqual(['d/bias', 'd/kernel']);
    writes.length = 0;
    model.loadWeights({ 'd/kernel': tf.fill([2, 1], 2), 'd/bias': tf.fill([1], 3) });
    expect(writes.sort()).toEqual(['d/bias', 'd/kernel']);
    expect(Array.from(model.layers[0].getWeights()[1].dataSync())).toEqual([3]);
    model.layers.forEach((l) => l.dispose());
  });
});

describe('host_view.ts: the backends’ storage', () => {
  it('cpu: data.get(dataId).values is the tensor’s Float32Array', async () => {
    await useBackend('cpu');
    const t = tf.tensor1d([1, 2, 3]);
    const values = (tf.backend() as unknown as { data: { get(id: object): { values: unknown } } }).data.get(t.dataId).values;
    expect(values).toBeInstanceOf(Float32Array);
    expect(hostView(t)).toBe(values);
    t.dispose();
  });

  it('wasm: HEAPU8 and asm.memory are the heap; dataIdMap records memoryOffset and refCount; makeOutput allocates', async () => {
    await useBackend('wasm');
    const backend = tf.backend() as unknown as {
      wasm: { HEAPU8: unknown; asm: { memory: unknown } };
      dataIdMap: { get(id: object): { memoryOffset: unknown; refCount: unknown } };
      makeOutput: unknown;
    };
    expect(backend.wasm.HEAPU8).toBeInstanceOf(Uint8Array);
    expect(backend.wasm.asm.memory).toBeInstanceOf(WebAssembly.Memory);
    expect(wasmMemory(backend)).toBe(backend.wasm.asm.memory);
    expect((backend.wasm.HEAPU8 as Uint8Array).buffer).toBe((backend.wasm.asm.memory as WebAssembly.Memory).buffer);
    const t = tf.tensor1d([1.5, 2.5, -3]);
    const record = backend.dataIdMap.get(t.dataId);
    expect(typeof record.memoryOffset).toBe('number');
    expect(record.refCount).toBe(1);
    const at = heapOffset(t)!;
    expect(Array.from(new Float32Array((backend.wasm.asm.memory as WebAssembly.Memory).buffer, at, 3))).toEqual([1.5, 2.5, -3]);
    expect(Array.from(hostView(t)!)).toEqual([1.5, 2.5, -3]);
    const v = tf.variable(t);
    expect(wasmRecord(v)?.refCount, 'a variable made from a tensor shares its data').toBe(2);
    v.dispose();
    expect(wasmRecord(t)?.refCount).toBe(1);
    expect(typeof backend.makeOutput).toBe('function');
    const out = uninitializedTensor([2, 3]);
    expect(out.shape).toEqual([2, 3]);
    expect(heapOffset(out)).not.toBeNull();
    tf.dispose([t, out]);
  });

  it('wasm in Node: tfjs reports no thread support and loads its unthreaded build, whose heap is not shared (the heap kernels import an unshared memory)', async () => {
    await useBackend('wasm');
    // The threaded build would import a shared memory (no asm.memory) that the heap kernels
    // cannot link: see docs/PERFORMANCE.md, "tfjs-wasm's threaded build".
    expect(await tf.env().getAsync('WASM_HAS_MULTITHREAD_SUPPORT')).toBe(false);
    expect(getThreadsCount()).toBe(1);
    const memory = wasmMemory(tf.backend());
    expect(memory).toBeInstanceOf(WebAssembly.Memory);
    expect(memory!.buffer).not.toBeInstanceOf(SharedArrayBuffer);
  });
});

describe('kernel_swap.ts: the kernel registry', () => {
  for (const name of BACKENDS) {
    it(`${name}: a wrapped BatchMatMul runs for tf.matMul with inputs a, b and attrs transposeA/B, and unwrapping restores the original`, async () => {
      await useBackend(name);
      const original = tf.getKernel(tf.BatchMatMul, name)!;
      expect(original).toBeDefined();
      const seen: Array<{ inputs: string[]; transposeA: unknown; transposeB: unknown }> = [];
      wrapKernel(tf.BatchMatMul, name, (o) => (args) => {
        const attrs = args.attrs as { transposeA?: unknown; transposeB?: unknown };
        seen.push({ inputs: Object.keys(args.inputs).sort(), transposeA: attrs.transposeA, transposeB: attrs.transposeB });
        return o.kernelFunc(args);
      });
      try {
        expect(isKernelWrapper(tf.getKernel(tf.BatchMatMul, name))).toBe(true);
        const a = tf.tensor2d([1, 2, 3, 4], [2, 2]);
        const r = tf.matMul(a, a, true, false);
        expect(Array.from(r.dataSync())).toEqual([10, 14, 14, 20]);
        expect(seen).toEqual([{ inputs: ['a', 'b'], transposeA: true, transposeB: false }]);
        tf.dispose([a, r]);
      } finally {
        unwrapKernel(tf.BatchMatMul, name);
      }
      expect(tf.getKernel(tf.BatchMatMul, name)).toBe(original);
    });
  }
});
