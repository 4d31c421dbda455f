/**
 * Protocol v2 of the UCI harness: the statistics of the claims table
 * against known values, the configuration draws, the provenance of each trial, and
 * `--workers` giving the same trials as one process.
 */
import * as tf from '@tensorflow/tfjs';
import { mkdtempSync, readFileSync, rmSync, writeFileSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { moduleBalance, type RunResult } from '../bench/uci/aggregate.js';
import { claimRows, verdict } from '../bench/uci/claims.js';
import { overviewTables, structureByStrength } from '../bench/uci/report.js';
import { parseArgs, type BenchConfig } from '../bench/uci/config.js';
import { drawConfigs, PAPER_SGD, runConfigs, V2_GRIDS } from '../bench/uci/methods.js';
import { planTrials, runGrid } from '../bench/uci/runner.js';
import { holm, incompleteBeta, logGamma, pairedTest, tCritical, tTwoSidedP } from '../bench/uci/stats.js';
import { TrialStore } from '../bench/uci/store.js';
import { Random } from '../src/utils/random.js';
import { useBackend } from './helpers/backends.js';

describe('statistics (reference values from R / scipy)', () => {
  it('logGamma, the incomplete beta and Student t', () => {
    expect(logGamma(5)).toBeCloseTo(Math.log(24), 12);
    expect(logGamma(0.5)).toBeCloseTo(0.5 * Math.log(Math.PI), 12);
    // I_x(a, b) = 1 − I_{1−x}(b, a); I_x(1, 1) = x; I_0.5(2, 3) = 0.6875.
    expect(incompleteBeta(0.3, 1, 1)).toBeCloseTo(0.3, 12);
    expect(incompleteBeta(0.5, 2, 3)).toBeCloseTo(0.6875, 12);
    expect(incompleteBeta(0.2, 2.5, 4) + incompleteBeta(0.8, 4, 2.5)).toBeCloseTo(1, 12);
    // qt(0.975, 10) = 2.228138852, qt(0.975, 4) = 2.776445105, qt(0.975, 1) = 12.70620474.
    expect(tCritical(10)).toBeCloseTo(2.228138852, 7);
    expect(tCritical(4)).toBeCloseTo(2.776445105, 7);
    expect(tCritical(1)).toBeCloseTo(12.70620474, 6);
    expect(tTwoSidedP(2.228138852, 10)).toBeCloseTo(0.05, 9);
    // df = 3 has a closed form: P(|T| ≥ t) = 1 − (2/π)(u/(1 + u²) + atan u), u = t/√3.
    const closed3 = (t: number) => {
      const u = t / Math.sqrt(3);
      return 1 - (2 / Math.PI) * (u / (1 + u * u) + Math.atan(u));
    };
    for (const t of [0.3, 1, 2.5, 7]) expect(tTwoSidedP(t, 3)).toBeCloseTo(closed3(t), 10);
    // A large df approaches the normal: 2·pnorm(−1.959964) = 0.05.
    expect(tTwoSidedP(1.959964, 1e7)).toBeCloseTo(0.05, 5);
  });

  it('the paired test of known differences (scipy.stats.ttest_1samp([1..5], 0): p = 0.013236)', () => {
    const t = pairedTest([1, 2, 3, 4, 5]);
    expect(t.mean).toBe(3);
    expect(t.p).toBeCloseTo(0.0132356, 6);
    expect(t.ciLow).toBeCloseTo(3 - 2.776445105 * Math.sqrt(2.5 / 5), 8);
    expect(t.ciHigh).toBeCloseTo(3 + 2.776445105 * Math.sqrt(2.5 / 5), 8);
    expect(pairedTest([0.1, -0.2, 0, 0, 0.3])).toMatchObject({ negative: 1, zero: 2, positive: 2 });
    // All differences equal: the exact sign test.
    expect(pairedTest([0.5, 0.5, 0.5, 0.5]).p).toBeCloseTo(0.125, 12);
    expect(pairedTest([0, 0, 0]).p).toBe(1);
    expect(Number.isNaN(pairedTest([1]).p)).toBe(true);
  });

  it("Holm's step-down correction", () => {
    // sorted 0.005·4 = 0.02, 0.01·3 = 0.03, 0.03·2 = 0.06, 0.04·1 → max(0.06, 0.04) = 0.06.
    const adj = holm([0.01, 0.04, 0.03, 0.005]);
    [0.03, 0.06, 0.06, 0.02].forEach((v, i) => expect(adj[i]).toBeCloseTo(v, 12));
    // 0.5·2 = 1, then max(1, 0.9·1) = 1; NaN does not count as a test.
    expect(holm([0.5, NaN, 0.9])).toEqual([1, NaN, 1]);
    expect(holm([0.2, NaN])).toEqual([0.2, NaN]);
  });

  it('claim rows: a clear win is supported after Holm, noise is not shown, a clear loss is refuted', () => {
    const rng = new Random(5);
    const runs: RunResult[] = [];
    const add = (method: RunResult['method'], seed: number, testError: number, secondsPerEpoch: number) =>
      runs.push({ dataset: 'd', method, nodes: 40, seed, testError, secondsPerEpoch } as RunResult);
    for (let s = 1; s <= 30; s++) {
      const base = 0.2 + 0.02 * rng.normal();
      add('NN', s, base, 0.1);
      add('NMs', s, base - 0.03 + 0.005 * rng.normal(), 0.2); // better than NN
      add('NMs&NM', s, base + (s % 2 ? 0.01 : -0.01), 0.2); // no difference on average
      add('DEQ', s, base - 0.05 + 0.005 * rng.normal(), 1); // better than both, slower
    }
    const rows = claimRows(runs);
    const row = (a: string, b: string) => rows.find((r) => r.a === a && r.b === b)!;
    expect(verdict(row('NMs', 'NN'))).toBe('supported');
    expect(verdict(row('NMs&NM', 'NN'))).toMatch(/not shown/);
    expect(verdict(row('NMs', 'DEQ'))).toBe('refuted: DEQ has lower error');
    const speed = rows.find((r) => r.kind === 'speed' && r.a === 'NMs')!;
    expect(Math.exp(speed.test.mean)).toBeCloseTo(5, 10);
    for (const r of rows) expect(r.pHolm).toBeGreaterThanOrEqual(r.test.p);
  });

  it('structure by strength: means, balance and acyclic counts per (method, α or λ)', () => {
    const t = (method: 'NMs&NM' | 'NMs&L1', s: number, largest: number, count: number) =>
      ({ method, nodes: 10, config: method === 'NMs&NM' ? { alpha: s } : { l1: s }, testError: 0.1, modules: { count, largest } }) as const;
    const md = structureByStrength([t('NMs&NM', 0.01, 1, 10), t('NMs&NM', 0.01, 4, 4), t('NMs&NM', 0.1, 1, 10), t('NMs&L1', 0.01, 6, 5)], ['NMs&L1', 'NMs&NM']);
    const rows = md.split('\n').slice(2);
    // α = 0.01: largest (1 + 4)/2 = 2.5; balance (1·10/10 + 4·4/10)/2 = 1.3; one of two acyclic.
    expect(rows).toEqual([
      '| NMs&L1 | λ = 0.01 | 1 | 6.0 | 3.00 | 0/1 |',
      '| NMs&NM | α = 0.01 | 2 | 2.5 | 1.30 | 1/2 |',
      '| NMs&NM | α = 0.1 | 1 | 1.0 | 1.00 | 1/1 |',
    ]);
  });

  it('the overview across datasets bolds the best mean per dataset', () => {
    const stat = (mean: number) => ({ mean, std: 0.01, n: 10 });
    const cell = (dataset: string, method: 'NN' | 'NMs', err: number) =>
      ({
        dataset,
        method,
        nodes: 40,
        testError: stat(err),
        valError: stat(err),
        secondsPerEpoch: stat(1),
        epochs: stat(20),
        hitCap: 0,
        modules: null,
      }) as never;
    const md = overviewTables(
      [cell('a', 'NN', 0.1), cell('a', 'NMs', 0.2), cell('b', 'NN', 0.3), cell('b', 'NMs', 0.25)],
      { datasets: ['a', 'b'], methods: ['NN', 'NMs'], nodes: [40], seeds: 10 },
      40,
    );
    expect(md).toContain('| NN | **10.00 ± 1.00** | 30.00 ± 1.00 |');
    expect(md).toContain('| NMs | 20.00 ± 1.00 | **25.00 ± 1.00** |');
  });

  it('module balance is the largest module over the mean module size', () => {
    expect(moduleBalance({ count: 3, largest: 4, levels: 2, edges: 9 }, 6)).toBe(2);
    expect(moduleBalance({ count: 10, largest: 1, levels: 5, edges: 9 }, 10)).toBe(1);
  });
});

describe('configuration draws', () => {
  it('gives each run B fresh configurations from independent grids, each level at most once while B ≤ its grid', () => {
    const a = drawConfigs('NMs&NM', 4, 'v2', 11);
    expect(a).toHaveLength(4);
    expect(new Set(a.map((c) => c.lr)).size).toBe(4);
    expect(new Set(a.map((c) => c.density)).size).toBe(4);
    expect(new Set(a.map((c) => c.alpha)).size).toBe(4);
    for (const c of a) {
      expect(V2_GRIDS.lr).toContain(c.lr);
      expect(V2_GRIDS.density).toContain(c.density);
      expect(V2_GRIDS.reg).toContain(c.alpha);
      expect(c.l1).toBeUndefined();
    }
    expect(drawConfigs('NMs&NM', 4, 'v2', 11)).toEqual(a);
    expect(drawConfigs('NMs&NM', 4, 'v2', 12)).not.toEqual(a);
    // NN has only the learning rate: 4 levels, so at most 4 distinct configurations.
    expect(drawConfigs('NN', 6, 'v2', 1)).toHaveLength(4);
    expect(drawConfigs('NMs&L1', 3, 'v2', 1).every((c) => c.l1 != null && c.alpha == null)).toBe(true);
    // Across many runs every α of the log grid 1e-4…1e-1 is drawn.
    const alphas = new Set(Array.from({ length: 40 }, (_, s) => drawConfigs('NMs&NM', 3, 'v2', s).map((c) => c.alpha)).flat());
    expect([...alphas].sort()).toEqual([...V2_GRIDS.reg].sort());
  });

  it('paper protocol: SGD 0.1 with momentum 0.5, one configuration where nothing else is tuned', () => {
    const nn = drawConfigs('NN', 3, 'paper', 1);
    expect(nn).toEqual([{ lr: PAPER_SGD.lr, momentum: PAPER_SGD.momentum }]);
    const nmc = drawConfigs('NMs&NM', 3, 'paper', 1);
    expect(nmc).toHaveLength(3);
    expect(nmc.every((c) => c.lr === 0.1 && c.momentum === 0.5 && c.density != null && c.alpha != null)).toBe(true);
  });

  it('every method of a run gets the same budget, and v1 keeps its fixed designs', () => {
    const run = { dataset: 'd', nodes: 40, seed: 3 };
    for (const m of ['NMs', 'NMs&L1', 'NMs&NM', 'NMs&NM+sched', 'DAG', 'DEQ'] as const)
      expect(runConfigs(m, { budget: 3, protocol: 'v2' }, run)).toHaveLength(3);
    expect(runConfigs('NMs&NM', { budget: 2, protocol: 'v1' }, run)).toEqual([
      { lr: 0.01, density: 0.05, alpha: 1e-3 },
      { lr: 0.003, density: 0.01, alpha: 1e-4 },
    ]);
  });
});

describe('trials of protocol v2 on a tiny dataset', () => {
  let dir: string;
  let cfg: BenchConfig;
  beforeAll(async () => {
    await useBackend('cpu');
    dir = mkdtempSync(join(tmpdir(), 'nm-bench-v2-'));
    mkdirSync(join(dir, 'data'));
    const rng = new Random(9);
    const rows = ['a,b,c,label'];
    for (let i = 0; i < 60; i++) {
      const k = i % 3;
      rows.push(
        [0, 1, 2]
          .map((j) => (1.5 * (j === k ? 1 : 0) + 0.6 * rng.normal()).toFixed(4))
          .concat(`k${k}`)
          .join(','),
      );
    }
    writeFileSync(join(dir, 'data', 'tiny.csv'), rows.join('\n'));
    cfg = parseArgs(
      ['--data', join(dir, 'data'), '--datasets', 'tiny', '--nodes', '4', '--seeds', '2', '--budget', '2', '--epochs', '3', '--patience', '1'].concat([
        '--batch-size',
        '16',
        '--backend',
        'cpu',
        '--methods',
        'NN,NMs&NM,NMs&NM+sched',
        '--out',
        join(dir, 'one'),
      ]),
    )!;
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('records the commit, package version and backend of every trial, and the adaptive-α arm runs', async () => {
    const before = tf.memory().numTensors;
    const run = await runGrid(cfg, { write: () => {}, inPlace: false });
    expect(tf.memory().numTensors).toBe(before);
    expect(run.executed).toBe(planTrials(cfg).length);
    const version = JSON.parse(readFileSync(join(__dirname, '..', 'package.json'), 'utf8')).version;
    for (const r of run.store.all()) {
      expect(r.provenance!.commit).toMatch(/^([0-9a-f]{7,}(\+dirty)?|unknown)$/);
      expect(r.provenance).toMatchObject({ packageVersion: version, backend: 'cpu', tfjsVersion: tf.version.tfjs });
      expect(r.settings.protocol).toBe('v2');
      expect(r.key.endsWith('|v2')).toBe(true);
      expect(r.testError).not.toBeNull();
    }
    expect(run.store.all().filter((r) => r.method === 'NMs&NM+sched')).toHaveLength(4);
  });

  it('--workers 2 trains the same trials, bit for bit, as one process', async () => {
    const two = { ...cfg, workers: 2, out: join(dir, 'two') };
    const run = await runGrid(two, { write: () => {}, inPlace: false });
    expect(run.executed).toBe(planTrials(cfg).length);
    const one = new TrialStore(cfg.out);
    for (const r of new TrialStore(two.out).all()) {
      const s = one.get(r.key)!;
      expect(s, r.key).toBeDefined();
      expect([r.valLoss, r.testError, r.epochs, r.bestEpoch, r.modules]).toEqual([s.valLoss, s.testError, s.epochs, s.bestEpoch, s.modules]);
    }
  }, 120_000);
});
