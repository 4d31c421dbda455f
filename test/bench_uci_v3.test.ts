/**
 * Protocol v3 of the UCI harness: equal-size grids and their draws, the defaults, the
 * trial keys (v2 keys unchanged), the NM-default / NM-recipe / contractive builds, a
 * tiny v3 grid end to end (provenance, non-convergence counts, module sizes, the v3
 * report sections, resume), the module summary and the interim v3 claims table of
 * docs/RESULTS.md from their stores, and the estimate.
 */
import * as tf from '@tensorflow/tfjs';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as nm from '../src/index.js';
import { collectRuns } from '../bench/uci/aggregate.js';
import { BenchConfigError, layerEngine, parseArgs, V3_GRID_SIZE, V3_METHODS, type BenchConfig } from '../bench/uci/config.js';
import { estimateGrid, trialSeconds } from '../bench/uci/estimate.js';
import { definitionTag, FIXED_SETTINGS_VERSION, fixedSettings, type FixedSettings } from '../bench/uci/fixed_settings.js';
import { V3_LEVELS, v3Configs, v3DrawIndices, v3Factors, v3Grid } from '../bench/uci/grids_v3.js';
import { buildModel, runConfigs } from '../bench/uci/methods.js';
import { buildResults, writeOutputs } from '../bench/uci/output.js';
import { v3ClaimRows, v3ClaimsTable } from '../bench/uci/claims_v3.js';
import { moduleDistributionTable, moduleSummaryTable } from '../bench/uci/report_v3.js';
import { RETIME_FILE, retimedRuns } from '../bench/uci/retime.js';
import type { RunResult } from '../bench/uci/aggregate.js';
import { GridProgress } from '../bench/uci/progress.js';
import { planTrials, runGrid } from '../bench/uci/runner.js';
import { trialKey, trialSettings, TrialStore } from '../bench/uci/store.js';
import { Random } from '../src/utils/random.js';
import { useBackend } from './helpers/backends.js';

const ROOT = resolve(import.meta.dirname, '..');

describe('protocol v3 grids', () => {
  it('every method has 16 distinct configurations: each learning rate once, each ρ and λ/α level once, contractive on in 8', () => {
    for (const m of V3_METHODS) {
      const g = v3Grid(m);
      expect(g, m).toHaveLength(V3_GRID_SIZE);
      expect(new Set(g.map((c) => JSON.stringify(c))).size).toBe(V3_GRID_SIZE);
      expect(g.map((c) => c.lr)).toEqual(V3_LEVELS.lr);
      for (const f of v3Factors(m)) {
        const col = g.map((c) => (c as unknown as Record<string, number | boolean>)[f]);
        if (f === 'contractive') expect(col.filter((v) => v === true)).toHaveLength(8);
        else expect([...col].sort((a, b) => Number(a) - Number(b))).toEqual(f === 'density' ? V3_LEVELS.density : V3_LEVELS.reg);
      }
    }
    expect(v3Factors('DEQ')).toEqual(['contractive']);
    expect(v3Factors('NMs&NM')).toEqual(['density', 'alpha', 'contractive']);
    expect(v3Factors('NM-recipe')).toEqual([]);
  });

  it("widens the ranges: lr down to 3e-4, ρ from 0.005 to 0.2, λ and α up to 0.2 (the papers' α)", () => {
    expect([V3_LEVELS.lr[0], V3_LEVELS.lr[15]]).toEqual([3e-4, 0.03]);
    expect([V3_LEVELS.density[0], V3_LEVELS.density[15]]).toEqual([0.005, 0.2]);
    expect([V3_LEVELS.reg[0], V3_LEVELS.reg[15]]).toEqual([1e-4, 0.2]);
  });

  it('draws B configurations, one per learning-rate block, the same ranks for every method of a run', () => {
    const idx = v3DrawIndices(4, 123);
    expect(idx.map((i) => Math.floor(i / 4))).toEqual([0, 1, 2, 3]);
    expect(v3DrawIndices(16, 5)).toEqual(Array.from({ length: 16 }, (_, i) => i));
    const run = { dataset: 'digits', nodes: 40, seed: 3 };
    const lrs = V3_METHODS.map((m) => v3Configs(m, 4, run).map((c) => c.lr));
    for (const l of lrs) expect(l).toEqual(lrs[0]);
    const cfg = { budget: 4, protocol: 'v3' as const };
    for (const m of V3_METHODS) expect(runConfigs(m, cfg, run)).toHaveLength(4);
    // Another run draws again.
    const other = [1, 2, 3, 4, 5].map((seed) => JSON.stringify(v3Configs('NN', 4, { ...run, seed })));
    expect(new Set(other).size).toBeGreaterThan(1);
  });

  it('defaults: p ∈ {40, 100, 300}, 10 seeds, the eight v3 methods, the whole training set; budget at most 16', () => {
    const cfg = parseArgs(['--protocol', 'v3', '--data', '/tmp'])!;
    expect(cfg).toMatchObject({ nodes: [40, 100, 300], maxTrain: null, budget: 4, epochs: 200, patience: 10 });
    expect(cfg.seeds).toHaveLength(10);
    expect(cfg.methods).toEqual([...V3_METHODS]);
    expect(() => parseArgs(['--protocol', 'v3', '--budget', '17'])).toThrow(/--budget: expected an integer from 1 to 16/);
    expect(() => parseArgs(['--methods', 'NN,NM-recipe'])).toThrow(BenchConfigError);
  });

  it('keys: v3 trials carry the protocol and the contraction; v2 keys are unchanged', () => {
    const v2 = parseArgs(['--max-train', '2000'])!;
    const key = trialKey({ dataset: 'digits', method: 'NN', nodes: 40, seed: 1, config: { lr: 0.01 }, settings: trialSettings(v2) });
    expect(key).toBe('digits|NN|p40|s1|lr0.01|rho-|l1-|a-|e200|pat10|b64|mt2000|wasm|repulsion|v2');
    const v3 = parseArgs(['--protocol', 'v3'])!;
    const base = { dataset: 'digits', method: 'DEQ', nodes: 40, seed: 1, settings: trialSettings(v3) };
    const on = trialKey({ ...base, config: { lr: 0.001, contractive: true } });
    // DEQ names the host engine (v3's default): its trials stored on the tensor engine are not taken for host-engine ones.
    expect(on).toBe('digits|DEQ|host|p40|s1|lr0.001|rho-|l1-|a-|c1|e200|pat10|b64|mtall|wasm|repulsion|v3');
    expect(trialKey({ ...base, config: { lr: 0.001, contractive: false } })).not.toBe(on);
    expect(trialKey({ ...base, method: 'NMs', config: { lr: 0.001, density: 0.1, contractive: true } })).toBe(
      'digits|NMs|p40|s1|lr0.001|rho0.1|l1-|a-|c1|e200|pat10|b64|mtall|wasm|repulsion|v3',
    );
    const tensorSettings = trialSettings(parseArgs(['--protocol', 'v3', '--deq-engine', 'tensor'])!);
    expect(trialKey({ ...base, settings: tensorSettings, config: { lr: 0.001, contractive: true } })).toBe(
      'digits|DEQ|p40|s1|lr0.001|rho-|l1-|a-|c1|e200|pat10|b64|mtall|wasm|repulsion|v3',
    );
    expect(trialKey({ dataset: 'digits', method: 'DEQ', nodes: 40, seed: 1, config: { lr: 0.01 }, settings: trialSettings(v2) })).toBe(
      'digits|DEQ|p40|s1|lr0.01|rho-|l1-|a-|e200|pat10|b64|mt2000|wasm|repulsion|v2',
    );
  });

  it('keys: the fixed definitions of NM-default / NM-recipe are recorded per version; a new version tags only the node counts it changes', () => {
    // What each version stands for, written out here independently of the code: editing a
    // definition in place (instead of appending a version) fails this test.
    const recipe = (p: number) => ({ proximal: true, alpha: 3 / p, l1: 0.02 * Math.sqrt(30 / p) });
    const recorded: Record<string, (p: number) => FixedSettings> = {
      'NM-default v1': () => ({ regularizer: {}, every: 'epoch' }),
      'NM-default v2': (p) => ({ regularizer: {}, every: 'epoch', density: p > 101 ? 5 / (p - 1) : 0.05 }),
      'NM-recipe v1': (p) => ({ regularizer: recipe(p), every: 'batch' }),
      'NM-recipe v2': (p) => ({ regularizer: recipe(p), every: 'batch', density: p > 101 ? 5 / (p - 1) : 0.05 }),
    };
    expect(FIXED_SETTINGS_VERSION).toEqual({ 'NM-default': 2, 'NM-recipe': 2 });
    for (const m of ['NM-default', 'NM-recipe'] as const) {
      for (let v = 1; v <= FIXED_SETTINGS_VERSION[m]; v++) {
        const want = recorded[`${m} v${v}`];
        expect(want, `${m} v${v} is not recorded`).toBeDefined();
        for (const p of [40, 100, 300]) {
          const got = fixedSettings(m, p, v);
          expect(got.every).toBe(want(p).every);
          expect(got.density ?? 0.05, `${m} v${v} density at p = ${p}`).toBeCloseTo(want(p).density ?? 0.05, 12);
          expect(Object.keys(got.regularizer).sort()).toEqual(Object.keys(want(p).regularizer).sort());
          for (const [k, val] of Object.entries(want(p).regularizer))
            expect(got.regularizer[k as keyof FixedSettings['regularizer']], `${m} ${k}`).toBeCloseTo(Number(val), 12);
        }
      }
    }
    expect(fixedSettings('NM-recipe', 300)).toEqual(fixedSettings('NM-recipe', 300, 2));
    expect(() => fixedSettings('NM-recipe', 300, 3)).toThrow(/NM-recipe has no definition version 3 \(versions 1–2\)/);
    // Version 1 keys are those stored before versioning. NM-recipe v2 changes only p > 100
    // (ρ = 5/(p − 1) < 0.05), so p = 40 and 100 keep their v1 keys and p = 300 is re-keyed.
    const v3 = trialSettings(parseArgs(['--protocol', 'v3'])!);
    const recipeTrial = { dataset: 'digits', method: 'NM-recipe', nodes: 40, seed: 1, config: { lr: 0.01 }, settings: v3 };
    expect(trialKey(recipeTrial)).toBe('digits|NM-recipe|p40|s1|lr0.01|rho-|l1-|a-|e200|pat10|b64|mtall|wasm|repulsion|v3');
    expect(trialKey({ ...recipeTrial, nodes: 100 })).toBe('digits|NM-recipe|p100|s1|lr0.01|rho-|l1-|a-|e200|pat10|b64|mtall|wasm|repulsion|v3');
    expect(trialKey({ ...recipeTrial, nodes: 300 })).toBe('digits|NM-recipe|def2|p300|s1|lr0.01|rho-|l1-|a-|e200|pat10|b64|mtall|wasm|repulsion|v3');
    expect(trialKey({ ...recipeTrial, nodes: 300 }, { 'NM-default': 2, 'NM-recipe': 1 })).toBe(
      'digits|NM-recipe|p300|s1|lr0.01|rho-|l1-|a-|e200|pat10|b64|mtall|wasm|repulsion|v3',
    );
    expect(trialKey({ ...recipeTrial, method: 'NM-default', nodes: 300 })).toMatch(/^digits\|NM-default\|def2\|p300\|/);
    expect(trialKey({ ...recipeTrial, method: 'NM-default', nodes: 100 })).not.toMatch(/\|def\d/);
    expect(trialKey({ ...recipeTrial, method: 'NMs' })).not.toMatch(/\|def\d/);
    expect(definitionTag('NM-recipe', 300)).toBe('def2');
    expect(definitionTag('NM-recipe', 100)).toBe('');
    expect(definitionTag('NM-recipe', 300, { 'NM-default': 1, 'NM-recipe': 1 })).toBe('');
    expect(definitionTag('NM-default', 300)).toBe('def2');
    expect(definitionTag('NM-default', 40)).toBe('');
    expect(definitionTag('NMs&NM', 300)).toBe('');
  });
});

describe('v3 builds', () => {
  beforeAll(() => useBackend('cpu'));
  const shape = { features: 3, classes: 2, nodes: 6 };
  const constraintOf = (b: ReturnType<typeof buildModel>) => (b.nmLayer!.getConfig() as { graphConstraint: unknown }).graphConstraint;

  it('contractive: true / false set the graph constraint; the v2 configurations have none, as when their stores were run', () => {
    const on = buildModel('NMs', { lr: 0.01, density: 0.2, contractive: true }, shape, 'repulsion');
    const off = buildModel('DEQ', { lr: 0.01, contractive: false }, shape, 'repulsion');
    const dflt = buildModel('NMs', { lr: 0.01, density: 0.2 }, shape, 'repulsion');
    try {
      expect(constraintOf(on)).toMatchObject({ className: 'Contractive', config: { bound: 0.9 } });
      expect(constraintOf(off)).toBeNull();
      expect(constraintOf(dflt)).toBeNull();
    } finally {
      [on, off, dflt].forEach((b) => b.dispose());
    }
  });

  it('DEQ runs on --deq-engine: host by default under v3, tensor under v1, v2 and paper (as their stores ran)', () => {
    const engineOf = (args: string[]) => parseArgs(args)!.deqEngine;
    expect(engineOf(['--protocol', 'v3'])).toBe('host');
    expect(['v2', 'paper', 'v1'].map((p) => engineOf(['--protocol', p]))).toEqual(['tensor', 'tensor', 'tensor']);
    expect(engineOf(['--protocol', 'v3', '--deq-engine', 'tensor'])).toBe('tensor');
    expect(() => parseArgs(['--deq-engine', 'gpu'])).toThrow(/--deq-engine/);
    const big = { features: 3, classes: 2, nodes: 12 };
    const v3 = buildModel('DEQ', { lr: 0.01, contractive: true }, big, 'repulsion', layerEngine('DEQ', 'host'));
    const v2 = buildModel('DEQ', { lr: 0.01 }, big, 'repulsion', layerEngine('DEQ', 'tensor'));
    const nms = buildModel('NMs', { lr: 0.01, density: 0.2, contractive: true }, big, 'repulsion', layerEngine('NMs', 'host'));
    try {
      expect(v3.nmLayer!.activeEngine()).toBe('host');
      expect(v2.nmLayer!.activeEngine()).toBe('tensor');
      expect((nms.nmLayer!.getConfig() as { engine: string }).engine).toBe('auto');
    } finally {
      [v3, v2, nms].forEach((b) => b.dispose());
    }
  });

  it('NM-default: the layer and the NM regularizer with their defaults; NM-recipe: the size rule, proximal, re-partition every batch', () => {
    const d = buildModel('NM-default', { lr: 0.01 }, shape, 'repulsion');
    const r = buildModel('NM-recipe', { lr: 0.01 }, shape, 'repulsion');
    try {
      const cfgD = d.nmLayer!.getConfig() as Record<string, { className?: string; config?: Record<string, unknown> } | number>;
      expect(cfgD.density).toBe(0.05);
      expect(cfgD.graphRegularizer).toMatchObject({
        className: 'NMRegularizer',
        config: { form: 'excess', alpha: nm.regularizers.NM_DEFAULT_ALPHA, proximal: false },
      });
      expect(cfgD.graphConstraint).toMatchObject({ className: 'Contractive' });
      expect((d.callbacks[0] as nm.callbacks.ModulePartitionCallback).getConfig().every).toBe('epoch');
      const cfgR = r.nmLayer!.getConfig() as Record<string, { config?: Record<string, unknown> }>;
      expect(cfgR.graphRegularizer.config).toMatchObject({ form: 'excess', proximal: true });
      // α = 0.1·30/p and λ = 0.02·√(30/p) at this shape's p (float64, as the guide's formula).
      expect(cfgR.graphRegularizer.config!.alpha).toBeCloseTo(0.1 * (30 / shape.nodes), 12);
      expect(cfgR.graphRegularizer.config!.l1).toBeCloseTo(0.02 * Math.sqrt(30 / shape.nodes), 12);
      expect((r.callbacks[0] as nm.callbacks.ModulePartitionCallback).getConfig().every).toBe('batch');
      expect(cfgR.density).toBe(0.05);
    } finally {
      d.dispose();
      r.dispose();
    }
  });

  it('above 100 nodes the density rule ρ = 5/(p − 1) reaches the layer of NM-recipe and NM-default (version 2 of each)', () => {
    const big = { ...shape, nodes: 300 };
    const d = buildModel('NM-default', { lr: 0.01 }, big, 'repulsion');
    const r = buildModel('NM-recipe', { lr: 0.01 }, big, 'repulsion');
    try {
      expect((d.nmLayer!.getConfig() as { density: number }).density).toBeCloseTo(5 / 299, 12);
      expect((r.nmLayer!.getConfig() as { density: number }).density).toBeCloseTo(5 / 299, 12);
      expect(r.nmLayer!.edges().mask.reduce((a, b) => a + b, 0)).toBe(Math.ceil((5 / 299) * 300 * 299 - 1e-9));
    } finally {
      d.dispose();
      r.dispose();
    }
  });
});

describe('a tiny v3 grid end to end', () => {
  let dir: string;
  let cfg: BenchConfig;
  beforeAll(async () => {
    await useBackend('cpu');
    dir = mkdtempSync(join(tmpdir(), 'nm-bench-v3-'));
    mkdirSync(join(dir, 'data'));
    const rng = new Random(21);
    const rows = ['a,b,c,label'];
    for (let i = 0; i < 60; i++) {
      const k = i % 2;
      rows.push([0, 1, 2].map((j) => ((j === k ? 1.5 : 0) + 0.6 * rng.normal()).toFixed(4)).join(',') + `,k${k}`);
    }
    writeFileSync(join(dir, 'data', 'tiny.csv'), rows.join('\n'));
    const flags = ['--protocol', 'v3', '--data', join(dir, 'data'), '--datasets', 'tiny', '--nodes', '5', '--seeds', '2', '--budget', '2'];
    cfg = parseArgs([...flags, '--epochs', '3', '--patience', '1', '--batch-size', '16', '--backend', 'cpu', '--out', join(dir, 'out')])!;
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('records provenance, module sizes and non-converged batches; the report has the v3 sections; a rerun trains nothing', async () => {
    const before = tf.memory().numTensors;
    const run = await runGrid(cfg, { write: () => {}, inPlace: false });
    expect(tf.memory().numTensors).toBe(before);
    expect(run.executed).toBe(V3_METHODS.length * 2 * 2);
    for (const r of run.store.all()) {
      expect(r.provenance).toMatchObject({ backend: 'cpu', node: process.version });
      expect(typeof r.provenance!.dirty).toBe('boolean');
      expect(r.provenance!.commit.endsWith('+dirty')).toBe(r.provenance!.dirty);
      expect(r.key.endsWith('|v3')).toBe(true);
      if (r.method === 'NN') continue;
      expect(r.modules!.sizes!.reduce((a, b) => a + b, 0)).toBe(5);
      expect(r.modules!.sizes![0]).toBe(r.modules!.largest);
      expect(r.solver!.trainBatches).toBe(r.epochs * Math.ceil(r.samples.train / 16));
      expect(r.solver!.forwardNonConverged).toBeGreaterThanOrEqual(0);
    }
    const results = buildResults(cfg, run.store, 'test');
    expect(results.provenance.nodeVersions).toEqual([process.version]);
    expect(results.provenance.withoutProvenance).toBe(0);
    await writeOutputs(cfg, results);
    const md = readFileSync(join(cfg.out, 'tables.md'), 'utf8');
    for (const h of ['## Protocol v3: claims (cluster-aware)', '## Protocol v3: non-convergence per method', '## Protocol v3: module structure over runs']) {
      expect(md).toContain(h);
    }
    expect(md).toMatch(/\| primary \| NM-recipe beats NN \(NM-recipe vs NN\) \| 2 \(2\) \|/);
    expect(md).toMatch(/\| DEQ \| (none|contractive) \| \d\/\d \|/);
    expect((await runGrid(cfg, { write: () => {}, inPlace: false })).executed).toBe(0);
  }, 120_000);

  it('estimates the wall time with --workers: the training time divided by the workers', () => {
    const trials = new TrialStore(cfg.out).all();
    const one = estimateGrid(cfg, trials);
    const two = estimateGrid({ ...cfg, workers: 2, nodes: [5, 10] }, trials);
    expect(one.unmeasured).toEqual([]);
    expect(one.trainings).toBe(planTrials(cfg).length);
    expect(one.wallSeconds).toBeCloseTo(one.seconds, 9);
    expect(two.wallSeconds).toBeCloseTo(two.seconds / 2, 9);
    expect(two.seconds).toBeGreaterThan(one.seconds);
  });
});

describe('the estimate with sparse timings', () => {
  it("counts a trial's epochs at the median epoch's time, so a pause in one epoch does not count", () => {
    const quiet = { wallSeconds: 14, epochs: 4, secondsPerEpoch: 3, epochSeconds: [3, 3, 3, 3] };
    const paused = { ...quiet, wallSeconds: 14 + 600, epochSeconds: [3, 603, 3, 3] };
    expect(trialSeconds(quiet)).toBe(14);
    expect(trialSeconds(paused)).toBe(14);
    // Without stored epoch times (older trials): the wall time.
    expect(trialSeconds({ ...paused, epochSeconds: undefined as never })).toBe(614);
  });

  it('borrows the exponent of p and the dataset offsets of the other methods for a method timed once per dataset', () => {
    const dir = mkdtempSync(join(tmpdir(), 'nm-bench-est-'));
    try {
      // Datasets of 100 and 400 rows (70 and 280 training rows).
      for (const [name, rows] of [
        ['dsa', 100],
        ['dsb', 400],
      ] as const) {
        writeFileSync(join(dir, `${name}.csv`), ['x,label', ...Array.from({ length: rows }, (_, i) => `${i},k${i % 2}`)].join('\n'));
      }
      // Seconds per epoch per training row: NMs c_d·p (c = 1e-5 on dsa, 4e-5 on dsb); NM-recipe twice NMs, timed at dsa, p = 40 only.
      const trial = (method: string, dataset: string, nodes: number, perSample: number) =>
        ({ method, dataset, nodes, epochs: 50, error: null, samples: { train: 1000 }, settings: { epochs: 200 }, wallSeconds: perSample * 50 * 1000 }) as never;
      const trials = [
        ...[40, 100].flatMap((p) => [trial('NMs', 'dsa', p, 1e-5 * p), trial('NMs', 'dsb', p, 4e-5 * p)]),
        trial('NM-recipe', 'dsa', 40, 2e-5 * 40),
      ];
      const cfg = parseArgs([
        '--protocol',
        'v3',
        '--data',
        dir,
        '--datasets',
        'dsb',
        '--nodes',
        '300',
        '--methods',
        'NMs,NM-recipe',
        '--seeds',
        '1',
        '--budget',
        '1',
      ])!;
      const e = estimateGrid(cfg, trials);
      expect(e.borrowedExponent).toEqual(['NM-recipe']);
      expect(e.perMethod.NMs).toBeCloseTo(4e-5 * 300 * 280 * 50, 6);
      expect(e.perMethod['NM-recipe']! / e.perMethod.NMs!).toBeCloseTo(2, 9);
      // DEQ is timed from its trials on the engine of --deq-engine when there are any: host ones
      // 3× cheaper than tensor ones here; with no host trial, the tensor ones stand in.
      const deq = (engine: 'host' | 'tensor', nodes: number, perSample: number) => ({
        ...(trial('DEQ', 'dsb', nodes, perSample) as object),
        settings: { epochs: 200, ...(engine === 'host' ? { deqEngine: 'host' } : {}) },
      });
      const deqTrials = [40, 100].flatMap((p) => [deq('tensor', p, 3e-5 * p), deq('host', p, 1e-5 * p)]) as never[];
      const onDeq = (args: string[], trials = deqTrials) =>
        estimateGrid(parseArgs([...args, '--data', dir, '--datasets', 'dsb', '--nodes', '300', '--methods', 'DEQ', '--seeds', '1', '--budget', '1'])!, trials);
      expect(onDeq(['--protocol', 'v3']).perMethod.DEQ).toBeCloseTo(1e-5 * 300 * 280 * 50, 6);
      expect(onDeq(['--protocol', 'v3', '--deq-engine', 'tensor']).perMethod.DEQ).toBeCloseTo(3e-5 * 300 * 280 * 50, 6);
      const hostOnly = deqTrials.filter((t) => (t as { settings: { deqEngine?: string } }).settings.deqEngine === 'host');
      const tensorFromHost = onDeq(['--protocol', 'v3', '--deq-engine', 'tensor'], hostOnly);
      expect(tensorFromHost.perMethod.DEQ).toBeCloseTo(1e-5 * 300 * 280 * 50, 6);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('the progress ETA', () => {
  it('takes a measured (dataset, method, p) mean first, else the cost model, else scales the nearest p by (p/p′)²', () => {
    const c = (nodes: number, method = 'NMs') => ({ dataset: 'letter', method, nodes, seed: 1, configIndex: 0 });
    const plan = [c(40), c(300), c(300, 'NN')];
    const withModel = new GridProgress(plan, () => {}, false, 0, new Map([['letter|NMs|300', 500]]));
    const without = new GridProgress(plan, () => {}, false, 0);
    for (const g of [withModel, without]) g.observe(c(40), 100);
    // NMs p = 40 measured (100 s); p = 300 from the model (500 s) or scaled from p = 40 (100·(300/40)²); NN p = 300 from neither
    // method nor model: the dataset's mean (100 s).
    expect(withModel.eta()).toBeCloseTo(100 + 500 + 100, 9);
    expect(without.eta()).toBeCloseTo(100 + 100 * (300 / 40) ** 2 + 100, 9);
    withModel.observe(c(300), 200);
    expect(withModel.eta()).toBeCloseTo(100 + 200 + (100 + 200) / 2, 9);
  });

  it('estimateGrid gives the seconds of one training per (dataset, method, p), which sum to the estimate', () => {
    const dir = mkdtempSync(join(tmpdir(), 'nm-bench-eta-'));
    try {
      writeFileSync(join(dir, 'dsa.csv'), ['x,label', ...Array.from({ length: 100 }, (_, i) => `${i},k${i % 2}`)].join('\n'));
      const trial = (nodes: number, perSample: number) =>
        ({
          method: 'NMs',
          dataset: 'dsa',
          nodes,
          epochs: 50,
          error: null,
          samples: { train: 1000 },
          settings: { epochs: 200 },
          wallSeconds: perSample * 50 * 1000,
        }) as never;
      const cfg = parseArgs([
        '--protocol',
        'v3',
        '--data',
        dir,
        '--datasets',
        'dsa',
        '--nodes',
        '40,300',
        '--methods',
        'NMs',
        '--seeds',
        '2',
        '--budget',
        '3',
      ])!;
      const e = estimateGrid(cfg, [trial(40, 1e-5 * 40), trial(100, 1e-5 * 100)]);
      // Per-sample cost 1e-5·p, 70 training rows, 50 epochs.
      expect(e.perTraining.get('dsa|NMs|300')).toBeCloseTo(1e-5 * 300 * 70 * 50, 9);
      expect(e.perTraining.get('dsa|NMs|40')! * 6 + e.perTraining.get('dsa|NMs|300')! * 6).toBeCloseTo(e.seconds, 9);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('--module-summary', () => {
  it('module distributions: quartiles over runs, and the runs that meet the modules goal (≥ 3 modules of ≥ 2 nodes, largest ≤ 25)', () => {
    const run = (sizes: number[]) =>
      ({ method: 'NM-recipe', nodes: 300, modules: { count: sizes.length, largest: sizes[0], levels: 1, edges: 0, sizes } }) as unknown as RunResult;
    const runs = [
      run([12, 5, 2, 1]), // meets the goal
      run([25, 3, 2]), // meets it (largest exactly 25)
      run([26, 3, 2, 2]), // largest 26
      run([9, 2, 1]), // only 2 modules of ≥ 2 nodes
      run([1, 1, 1]), // acyclic
    ];
    const rows = moduleDistributionTable(runs, ['NM-recipe'], [40, 300]).split('\n');
    expect(rows[0]).toContain('≥ 3 modules of ≥ 2, largest ≤ 25');
    // largest 1, 9, 12, 25, 26; modules of ≥ 2 nodes 0, 2, 3, 3, 4; nodes in them 0, 11, 19, 30, 33 (no p = 40 row).
    expect(rows.slice(2)).toEqual(['| NM-recipe | 300 | 5 | 12 [9–25] (1–26) | 3 [2–3] (0–4) | 19 [11–30] (0–33) | 2/5 | 1/5 |']);
  });

  it('reproduces the module summary of docs/RESULTS.md from bench/results/uci16', () => {
    const cfg = parseArgs(['--datasets', 'digits,vehicle,satellite,dna,letter', '--nodes', '40,100', '--seeds', '10', '--budget', '3', '--max-train', '2000'])!;
    const { runs } = collectRuns(cfg, new TrialStore(join(ROOT, 'bench/results/uci16')));
    const table = moduleSummaryTable(runs, cfg.methods, cfg.nodes);
    expect(table.split('\n').slice(2)).toEqual([
      '| NMs | 11.9 | 13/50 | 57.2 | 0/50 |',
      '| NMs&L1 | 10.7 | 19/50 | 56.4 | 6/50 |',
      '| NMs&NM | 11.3 | 30/50 | 39.0 | 19/50 |',
      '| NMs&NM+sched | 11.7 | 29/50 | 49.3 | 20/50 |',
    ]);
    // The published table is this command's output.
    const doc = readFileSync(join(ROOT, 'docs/RESULTS.md'), 'utf8');
    expect(doc).toContain(table);
  });

  it('reproduces the interim v3 claims table of docs/RESULTS.md from bench/results/uci-v3 (four datasets)', () => {
    // DEQ on the host engine (the v3 default since its rerun).
    const cfg = parseArgs(['--protocol', 'v3', '--datasets', INTERIM_DATASETS])!;
    const { runs, incomplete } = collectRuns(cfg, new TrialStore(join(ROOT, 'bench/results/uci-v3')));
    expect(incomplete).toBe(0);
    expect(runs).toHaveLength(INTERIM_DATASETS.split(',').length * 3 * 8 * 10);
    // The speed rows compare the same-window reruns of --retime (bench/results/uci-v3/retime.jsonl.gz).
    const retimes = new TrialStore(join(ROOT, 'bench/results/uci-v3'), RETIME_FILE).all();
    const timed = retimedRuns(runs, retimes);
    expect(timed.length).toBeGreaterThan(0);
    const rows = v3ClaimRows(runs, timed);
    // Reference: bench/uci/recompute_v3.py, which shares no code with the report, on the same
    // store (clusters, pairs, mean a − b in points, clusters a better / tie / worse, exact
    // Wilcoxon p). Its sign-flip p is a Monte Carlo estimate of its own and is not compared.
    const got = rows.map((r) => [
      `${r.a} vs ${r.b}${r.kind === 'speed' ? ' (speed)' : ''}`,
      r.test.clusters,
      r.test.pairs,
      r.kind === 'error' ? +(100 * r.test.mean).toFixed(2) : +Math.exp(r.test.mean).toFixed(2),
      r.kind === 'error' ? [r.test.negative, r.test.zero, r.test.positive] : [r.test.positive, r.test.zero, r.test.negative],
      +r.test.pWilcoxon.toPrecision(4),
    ]);
    expect(got).toEqual(INTERIM_REFERENCE);
    // The published table is this command's output.
    const doc = readFileSync(join(ROOT, 'docs/RESULTS.md'), 'utf8');
    expect(doc).toContain(v3ClaimsTable(rows));
    expect(doc).toContain(moduleDistributionTable(runs, cfg.methods, cfg.nodes));
  });
});

/** The datasets of the interim v3 claims table (docs/RESULTS.md): every one but letter, whose grid runs last. */
const INTERIM_DATASETS = 'digits,satellite,vehicle,dna';

/**
 * `python3 bench/uci/recompute_v3.py bench/results/uci-v3/trials.jsonl.gz --datasets <INTERIM_DATASETS> --retime bench/results/uci-v3/retime.jsonl.gz --json`:
 * claim, clusters, pairs, mean a − b in points (speed: DEQ time ÷ the method's, geometric
 * mean), clusters a better / tie / worse, exact Wilcoxon p.
 */
const INTERIM_REFERENCE = [
  ['NMs vs NN', 40, 120, 0.65, [8, 0, 32], 0.0002844],
  ['NMs&L1 vs NN', 40, 120, 0.21, [14, 3, 23], 0.04501],
  ['NMs&NM vs NN', 40, 120, 0.33, [13, 3, 24], 0.005532],
  ['NM-default vs NN', 40, 120, 0.24, [16, 2, 22], 0.08366],
  ['NM-recipe vs NN', 40, 120, 0.28, [13, 3, 24], 0.03729],
  ['NMs vs DEQ', 40, 120, 0.23, [16, 2, 22], 0.2659],
  ['NMs&NM vs DEQ', 40, 120, -0.1, [25, 1, 14], 0.2287],
  ['NMs vs DAG', 40, 120, 0.58, [13, 2, 25], 0.006512],
  ['NMs&NM vs DAG', 40, 120, 0.26, [17, 2, 21], 0.09047],
  ['NMs&NM vs NMs', 40, 120, -0.32, [25, 4, 11], 0.01894],
  ['NMs&NM vs NMs&L1', 40, 120, 0.12, [15, 3, 22], 0.392],
  ['NM-recipe vs NM-default', 40, 120, 0.04, [21, 2, 17], 0.788],
  ['DEQ vs NN', 40, 120, 0.43, [6, 4, 30], 7.331e-5],
  ['NMs vs DEQ (speed)', 20, 60, 2.08, [20, 0, 0], 1.907e-6],
  ['NMs&NM vs DEQ (speed)', 20, 60, 2.14, [20, 0, 0], 1.907e-6],
  ['NM-default vs DEQ (speed)', 20, 60, 2.26, [20, 0, 0], 1.907e-6],
  ['NM-recipe vs DEQ (speed)', 20, 60, 1.47, [20, 0, 0], 1.907e-6],
];
