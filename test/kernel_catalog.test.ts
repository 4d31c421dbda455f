/**
 * The kernel catalog drives both implementations, the thread split and the workers'
 * command table: the compiled modules export what the entries declare, with as many
 * parameters; every entry is a method of both kernel sets; the protocol lists exactly the
 * catalog's exports; and each entry's `call` hands the export the arguments its parameter
 * list says (checked by calling the exports through a recorder).
 */
import { describe, expect, it } from 'vitest';
import { CATALOG, EXPORT_SPECS, type KernelName } from '../src/kernels/catalog.js';
import { paramLayout, type Exports, type ExportSpec, type KernelEntry } from '../src/kernels/entry.js';
import { gemmWasmBytes } from '../src/kernels/gemm.js';
import { createJsKernels, createWasmKernels, sparseWasmBytes, wasmSimdSupported } from '../src/kernels/index.js';
import { MAX_KERNEL_ARGS } from '../src/kernels/sparse_kernels.js';
import { KERNEL_EXPORTS, MAX_ARGS } from '../src/kernels/threads/protocol.js';
import { kernelWorkerSource } from '../src/kernels/threads/worker_source.js';

const names = Object.keys(CATALOG) as KernelName[];

describe('kernel catalog', () => {
  it.runIf(wasmSimdSupported())('every export of an entry is a function of the compiled modules with as many parameters, and nothing else is exported', () => {
    const memory = new WebAssembly.Memory({ initial: 1 });
    const exported: Record<string, unknown> = {};
    for (const bytes of [sparseWasmBytes(), gemmWasmBytes()]) {
      Object.assign(exported, new WebAssembly.Instance(new WebAssembly.Module(bytes), { env: { memory } }).exports);
    }
    for (const [name, spec] of EXPORT_SPECS) {
      const fn = exported[name] as (...args: number[]) => unknown;
      expect(typeof fn, name).toBe('function');
      expect(fn.length, `${name}: parameters in the .wat vs the catalog`).toBe(spec.params.length);
    }
    expect(Object.keys(exported).sort()).toEqual(EXPORT_SPECS.map(([name]) => name).sort());
  });

  it("the workers' command table is the catalog's exports in catalog order; no export or kernel takes more arguments than the protocol and the wrappers carry", () => {
    expect([...KERNEL_EXPORTS]).toEqual(EXPORT_SPECS.map(([name]) => name));
    expect(kernelWorkerSource()).toContain(`const NAMES = ${JSON.stringify(KERNEL_EXPORTS)};`);
    for (const [name, spec] of EXPORT_SPECS) expect(spec.params.length, name).toBeLessThanOrEqual(MAX_ARGS);
    for (const name of names) expect(CATALOG[name].args.length, name).toBeLessThanOrEqual(MAX_KERNEL_ARGS);
  });

  it('every split names parameters its export has: a row split a row range and its work and balance parameters, an element split a length', () => {
    for (const [name, spec] of EXPORT_SPECS) {
      const at = paramLayout(spec);
      if (spec.split.by === 'rows') {
        expect([at.lo >= 0, at.hi >= 0], name).toEqual([true, true]);
        for (const w of [...spec.split.work, ...(spec.split.balance === undefined ? [] : [spec.split.balance])])
          expect(at.at[w], `${name}: ${w}`).toBeGreaterThanOrEqual(0);
        if (spec.split.balance !== undefined) expect(spec.params[at.at[spec.split.balance]].kind, name).toBe('ptr');
      }
      if (spec.split.by === 'elements') expect(at.len, name).toBeGreaterThanOrEqual(0);
    }
  });

  it.each([['js'], ...(wasmSimdSupported() ? [['wasm']] : [])])('every entry is a method of the %s kernels', (kind) => {
    const k = kind === 'js' ? createJsKernels() : createWasmKernels({ team: null });
    for (const name of names) expect(typeof k[name], name).toBe('function');
    k.release();
  });

  it("each entry's call passes its arrays' byte offsets and lengths where its parameter list says", () => {
    const buffer = new ArrayBuffer(4096);
    const view = (offset: number, n: number) => new Float32Array(buffer, offset, n);
    const calls: Array<{ name: string; args: number[] }> = [];
    const recorder = (spec: Record<string, ExportSpec>) => {
      const out: Record<string, unknown> = { deliver: (name: string, _sink: unknown, ...args: number[]) => calls.push({ name, args }) };
      for (const name of Object.keys(spec)) out[name] = (...args: number[]) => void calls.push({ name, args });
      return out as Exports<Record<string, ExportSpec>>;
    };
    const call = (name: KernelName, ...args: unknown[]) => {
      calls.length = 0;
      const entry = CATALOG[name] as unknown as KernelEntry;
      (entry.call as (x: unknown, ...a: unknown[]) => unknown)(recorder(entry.exports), ...args);
      return calls.map((c) => ({ ...c, at: paramLayout(entry.exports[c.name]).at }));
    };
    const [x, out] = [view(64, 12), view(256, 12)];
    const [tanh] = call('tanh', x, out);
    expect([tanh.args[tanh.at.x], tanh.args[tanh.at.out], tanh.args[tanh.at.n]]).toEqual([64, 256, 12]);
    const momentum = { momentum: 0.9, negLearningRate: -0.5, nesterov: true };
    const [m] = call('momentumUpdate', view(0, 4), view(16, 4), view(32, 4), momentum);
    expect(m.args).toEqual([0, 16, 32, 4, 0.9, -0.5, 1, 0]);
    const [d] = call('andersonDiffs', view(0, 4), view(16, 4), view(32, 4), view(48, 4), view(64, 4), null, null);
    expect([d.args[d.at.dG], d.args[d.at.dR], d.args[d.at.diffs], d.args[d.at.n]]).toEqual([0, 0, 0, 4]);
    const gemm = call('gemmNT', view(0, 8), view(32, 8), 2, 4, view(64, 4), view(128, 64), { begin: () => {}, rows: () => {}, take: () => {} });
    expect(gemm.map((c) => c.name)).toEqual(['packV', 'gemmNT']);
    expect(gemm[1].args).toEqual([0, 128, 0, 2, 2, 4, 64, 2]);
  });
});
