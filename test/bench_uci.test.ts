/**
 * The UCI benchmark harness (bench/uci) on a tiny generated dataset: stratified,
 * deterministic splits; every method builds and trains; resumption; the markdown
 * tables equal results.json; clear errors for bad flags.
 */
import * as tf from '@tensorflow/tfjs';
import { appendFileSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { useBackend } from './helpers/backends.js';
import { main } from '../bench/uci/cli.js';
import { BenchConfigError, checkData, DEFAULT_METHODS, METHOD_NAMES, parseArgs, type BenchConfig } from '../bench/uci/config.js';
import { binaryLabel, loadDataset, makeSplit, splitIndices, toBinary } from '../bench/uci/data.js';
import { estimateGrid } from '../bench/uci/estimate.js';
import type { RunResult } from '../bench/uci/aggregate.js';
import { compare, speedOverDeq } from '../bench/uci/claims.js';
import { tuningGrid } from '../bench/uci/methods.js';
import { buildResults, writeOutputs, type BenchResults } from '../bench/uci/output.js';
import { planTrials, runGrid } from '../bench/uci/runner.js';
import { TRIALS_FILE, type TrialRecord } from '../bench/uci/store.js';
import { Random } from '../src/utils/random.js';

let dir: string;
let dataDir: string;
const quiet = { write: () => {}, inPlace: false };

/** 3 Gaussian blobs in 4 features, unequal class sizes (30, 24, 18 samples). */
function tinyCsv(): string {
  const rng = new Random(3);
  const rows = ['f0,f1,f2,f3,label'];
  const sizes = { a: 30, b: 24, c: 18 };
  Object.entries(sizes).forEach(([label, n], k) => {
    for (let i = 0; i < n; i++)
      rows.push(
        [0, 1, 2, 3]
          .map((j) => (2 * (j === k ? 1 : 0) + 0.7 * rng.normal()).toFixed(4))
          .concat(label)
          .join(','),
      );
  });
  return rows.join('\n');
}

/** The flags of a tiny run (the tiny dataset, 5 nodes, 2 seeds, 2 epochs) into `out`. */
const tinyArgs = (out: string): string[] => [
  '--data',
  dataDir,
  '--datasets',
  'tiny',
  '--nodes',
  '5',
  '--seeds',
  '2',
  '--epochs',
  '2',
  '--patience',
  '1',
  '--budget',
  '1',
  '--batch-size',
  '16',
  '--backend',
  'cpu',
  '--out',
  out,
];

const config = (out: string, extra: string[] = []): BenchConfig => parseArgs([...tinyArgs(out), ...extra])!;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'nm-bench-uci-'));
  dataDir = join(dir, 'data');
  await import('node:fs').then((fs) => fs.mkdirSync(dataDir));
  writeFileSync(join(dataDir, 'tiny.csv'), tinyCsv());
  await useBackend('cpu');
});

afterAll(() => {
  rmSync(dir, { recursive: true, force: true });
});

describe('split', () => {
  it('is stratified 70/15/15, disjoint, complete and deterministic per seed', () => {
    const y = Int32Array.from([...Array(40).fill(0), ...Array(20).fill(1), ...Array(60).fill(2)]);
    const a = splitIndices(y, 1);
    expect(splitIndices(y, 1)).toEqual(a);
    expect(splitIndices(y, 2)).not.toEqual(a);
    const all = [...a.train, ...a.val, ...a.test].sort((p, q) => p - q);
    expect(all).toEqual(Array.from({ length: y.length }, (_, i) => i));
    for (const [c, n] of [
      [0, 40],
      [1, 20],
      [2, 60],
    ]) {
      const count = (idx: number[]) => idx.filter((i) => y[i] === c).length;
      expect(Math.abs(count(a.train) - 0.7 * n)).toBeLessThanOrEqual(1);
      expect(Math.abs(count(a.val) - 0.15 * n)).toBeLessThanOrEqual(1);
      expect(Math.abs(count(a.test) - 0.15 * n)).toBeLessThanOrEqual(1);
    }
  });

  it('caps the training part with a stratified, seeded subsample and leaves val/test alone', () => {
    const y = Int32Array.from([...Array(100).fill(0), ...Array(50).fill(1)]);
    const full = splitIndices(y, 4);
    const capped = splitIndices(y, 4, 30);
    expect(capped).toEqual(splitIndices(y, 4, 30));
    expect(capped.train).toHaveLength(30);
    expect(capped.train.every((i) => full.train.includes(i))).toBe(true);
    expect(capped.train.filter((i) => y[i] === 1)).toHaveLength(10);
    expect(capped.val).toEqual(full.val);
    expect(capped.test).toEqual(full.test);
  });
});

describe('tuning grid', () => {
  it('gives every method the same number of configurations', () => {
    for (const b of [1, 2, 4] as const) {
      for (const m of METHOD_NAMES) expect(tuningGrid(m, b)).toHaveLength(b);
    }
    expect(tuningGrid('NMs&NM', 4).every((c) => c.alpha != null && c.density != null)).toBe(true);
    expect(tuningGrid('NN', 4).every((c) => c.density == null)).toBe(true);
    expect(tuningGrid('OPTNET', 4)).toEqual(tuningGrid('NN', 4));
  });
});

describe('the grid on a tiny dataset', () => {
  let out: string;
  let cfg: BenchConfig;
  let results: BenchResults;

  beforeAll(async () => {
    out = join(dir, 'out');
    cfg = config(out);
    const before = tf.memory().numTensors;
    const first = await runGrid(cfg, quiet);
    expect(first.executed).toBe(planTrials(cfg).length);
    expect(first.executed).toBe(DEFAULT_METHODS.length * 2);
    expect(tf.memory().numTensors).toBe(before);
    results = buildResults(cfg, first.store, 'test');
    await writeOutputs(cfg, results);
  });

  it('trains every method to a finite test error, with module statistics for NM layers', () => {
    expect(results.runs).toHaveLength(DEFAULT_METHODS.length * 2);
    for (const r of results.runs) {
      expect(Number.isFinite(r.testError)).toBe(true);
      expect(r.testError).toBeGreaterThanOrEqual(0);
      expect(r.testError).toBeLessThanOrEqual(1);
      expect(r.epochs).toBeGreaterThanOrEqual(1);
      expect(r.secondsPerEpoch).toBeGreaterThan(0);
      if (r.method === 'NN' || r.method === 'CFF' || r.method === 'OPTNET') expect(r.modules).toBeNull();
      else expect(r.modules!.count).toBeGreaterThanOrEqual(1);
      if (r.method === 'DEQ') expect(r.modules).toMatchObject({ count: 1, largest: 5, edges: 20 });
      if (r.method === 'DAG') expect(r.modules!.largest).toBe(1);
    }
  });

  it('skips finished trials on restart and redoes only an interrupted one', async () => {
    const again = await runGrid(cfg, quiet);
    expect(again).toMatchObject({ executed: 0, skipped: DEFAULT_METHODS.length * 2 });
    // Simulate a crash during the last trial's write: drop its line, leave a torn fragment.
    const path = join(out, TRIALS_FILE);
    const lines = readFileSync(path, 'utf8').trimEnd().split('\n');
    writeFileSync(path, `${lines.slice(0, -1).join('\n')}\n`);
    appendFileSync(path, lines[lines.length - 1].slice(0, 40));
    const printed: string[] = [];
    const resumed = await runGrid(cfg, { write: (t) => printed.push(t), inPlace: false });
    expect(resumed).toMatchObject({ executed: 1, skipped: DEFAULT_METHODS.length * 2 - 1 });
    // Non-TTY progress: one line per trained trial, counting the stored ones as finished.
    expect(printed).toHaveLength(1);
    expect(printed[0]).toMatch(
      new RegExp(
        `\\] ${DEFAULT_METHODS.length * 2}/${DEFAULT_METHODS.length * 2} elapsed .* ETA 0s tiny ${DEFAULT_METHODS[DEFAULT_METHODS.length - 1].replace(/[+&]/g, (c) => `\\${c}`)} p=5 seed 2 cfg 1 val`,
      ),
    );
    expect(resumed.store.skippedLines).toBe(1);
    const stored = readFileSync(path, 'utf8').trimEnd().split('\n');
    expect(stored).toHaveLength(lines.length);
    expect(stored.every((l) => JSON.parse(l).key)).toBe(true);
    // Different settings are different trials: nothing is reused.
    expect(planTrials({ ...cfg, patience: 2 }).filter((t) => resumed.store.has(t.key))).toHaveLength(0);
  });

  it("learns the ETA from stored trials' undisturbed time: a pause in a stored trial does not inflate it", async () => {
    const path = join(out, TRIALS_FILE);
    const plan = planTrials(cfg);
    const [prev, last] = plan.slice(-2); // trained in this order; `last` is estimated from its stored seed-1 sibling
    const sibling = plan.find((t) => t.method === last.method && t.nodes === last.nodes && t.seed !== last.seed)!;
    const records = readFileSync(path, 'utf8')
      .trimEnd()
      .split('\n')
      .map((l) => JSON.parse(l) as TrialRecord)
      .filter((r) => r.key !== prev.key && r.key !== last.key)
      // The sibling's run was paused for 1000 s in its third epoch.
      .map((r) => (r.key === sibling.key ? { ...r, epochs: 3, epochSeconds: [0.01, 0.01, 1000], secondsPerEpoch: 0.01, wallSeconds: 1000.05 } : r));
    writeFileSync(path, records.map((r) => `${JSON.stringify(r)}\n`).join(''));
    const printed: string[] = [];
    expect((await runGrid(cfg, { write: (t) => printed.push(t), inPlace: false })).executed).toBe(2);
    // After `prev`, the ETA is `last`'s estimate: the sibling's 0.02 s of set-up plus 3 epochs at 0.01 s, not its 1000 s of wall time.
    expect(printed[0]).toMatch(/ ETA 0s /);
  });

  it('writes tables whose numbers equal results.json, best mean in bold', () => {
    const json = JSON.parse(readFileSync(join(out, 'results.json'), 'utf8')) as BenchResults;
    expect(json.runs).toHaveLength(results.runs.length);
    const md = readFileSync(join(out, 'tables.md'), 'utf8');
    const section = md.split('### Test error')[1].split('###')[0];
    const rows = section.split('\n').filter((l) => l.startsWith('| ') && !l.startsWith('| Method'));
    expect(rows).toHaveLength(DEFAULT_METHODS.length);
    const parsed = rows.map((l) => {
      const [, method, cell] = l.split('|').map((s) => s.trim());
      const m = /^(\*\*)?(\d+\.\d{4}) ± (\d+\.\d{4})(\*\*)?$/.exec(cell);
      expect(m, cell).not.toBeNull();
      return { method, mean: Number(m![2]), std: Number(m![3]), bold: Boolean(m![1]) };
    });
    for (const p of parsed) {
      const c = json.cells.find((x) => x.method === p.method && x.nodes === 5)!;
      expect(p.mean).toBe(Number(c.testError.mean.toFixed(4)));
      expect(p.std).toBe(Number(c.testError.std.toFixed(4)));
      expect(c.testError.n).toBe(2);
      // The cell is the mean over the seeds' selected runs.
      const rs = json.runs.filter((r) => r.method === p.method);
      expect(c.testError.mean).toBeCloseTo((rs[0].testError + rs[1].testError) / 2, 12);
    }
    const best = Math.min(...parsed.map((p) => p.mean));
    expect(parsed.filter((p) => p.bold).map((p) => p.mean)).toEqual(parsed.filter((p) => p.mean === best).map((p) => p.mean));
    expect(md).toContain('### Wall time per epoch');
    expect(md).toContain('### Modules at the end of training');
  });

  it('writes SVG and PNG plots', () => {
    for (const name of ['error_tiny', 'time_tiny']) {
      const svg = readFileSync(join(out, 'plots', `${name}.svg`), 'utf8');
      expect(svg.startsWith('<svg')).toBe(true);
      expect(svg).toContain('NMs&amp;NM');
      const png = readFileSync(join(out, 'plots', `${name}.png`));
      expect(Array.from(png.subarray(0, 8))).toEqual([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);
    }
  });

  it('estimates the wall time of a larger grid from the stored trials', () => {
    const trials = results.trials;
    const small = estimateGrid(cfg, trials);
    const big = estimateGrid({ ...cfg, nodes: [5, 10], seeds: [1, 2, 3, 4] }, trials);
    expect(small.unmeasured).toEqual([]);
    expect(small.seconds).toBeGreaterThan(0);
    expect(big.seconds).toBeGreaterThan(2 * small.seconds);
  });

  it('rebuilds the report from the store with --report-only, training nothing', async () => {
    const log: string[] = [];
    const code = await main(['uci', '--report-only', ...tinyArgs(out)], (s) => log.push(s));
    expect(code).toBe(0);
    expect(log.join('\n')).toContain(`${DEFAULT_METHODS.length * 2}/${DEFAULT_METHODS.length * 2} runs complete`);
    expect(existsSync(join(out, 'results.json'))).toBe(true);
  });
});

describe('--binary (v4 Table 2 protocol) and CFF', () => {
  it('maps the first half of the classes to 0 and the rest to 1', () => {
    expect([0, 1, 2, 3].map((k) => binaryLabel(k, 4))).toEqual([0, 0, 1, 1]);
    expect([0, 1, 2].map((k) => binaryLabel(k, 3))).toEqual([0, 0, 1]);
    expect([0, 1].map((k) => binaryLabel(k, 2))).toEqual([0, 1]);
  });

  it('turns every part of a split binary and keeps the features', async () => {
    const split = makeSplit(await loadDataset(dataDir, 'tiny'), 1);
    const bin = toBinary(split);
    expect(bin.numClasses).toBe(2);
    expect(bin.train.classes).toEqual(['a+b', 'c']);
    for (const part of ['train', 'val', 'test'] as const) {
      expect(bin[part].x).toBe(split[part].x);
      expect(Array.from(bin[part].y)).toEqual(Array.from(split[part].y, (k) => (k < 2 ? 0 : 1)));
    }
  });

  it('runs CFF and NN on the binary task, under keys of their own', async () => {
    const out = join(dir, 'out-binary');
    const cfg = { ...config(out, ['--binary', '--methods', 'CFF,NN']), seeds: [1], epochs: 3 };
    expect(cfg.binary).toBe(true);
    const plan = planTrials(cfg);
    expect(plan.map((t) => t.method)).toEqual(['NN', 'CFF']);
    expect(plan.every((t) => t.key.endsWith('|binary|v2'))).toBe(true);
    expect(planTrials({ ...cfg, binary: false }).every((t) => !t.key.includes('binary'))).toBe(true);
    const before = tf.memory().numTensors;
    const printed: string[] = [];
    const run = await runGrid(cfg, { write: (t) => printed.push(t), inPlace: false });
    expect(tf.memory().numTensors).toBe(before);
    expect(run.executed).toBe(2);
    const cff = run.store.all().find((r) => r.method === 'CFF')!;
    console.log(`tiny --binary CFF trial: ${printed.find((l) => l.includes('CFF'))?.trim()}`);
    expect(cff.error).toBeNull();
    expect(cff.testError).toBeGreaterThanOrEqual(0);
    expect(cff.testError).toBeLessThan(0.5);
    expect(cff.epochs).toBeGreaterThanOrEqual(1);
    expect(cff.bestEpoch).toBeGreaterThanOrEqual(1);
    expect(cff.secondsPerEpoch).toBeGreaterThan(0);
    expect(cff.modules).toBeNull();
    expect(cff.settings.binary).toBe(true);
  });
});

describe('paired comparisons', () => {
  it('pairs runs by (dataset, nodes, seed) and counts wins, ties and losses', () => {
    const run = (method: 'NN' | 'NMs' | 'DEQ', seed: number, testError: number, secondsPerEpoch = 1) =>
      ({ dataset: 'd', method, nodes: 10, seed, testError, secondsPerEpoch }) as RunResult;
    const runs = [run('NN', 1, 0.2), run('NN', 2, 0.1), run('NN', 3, 0.3), run('NMs', 1, 0.1, 0.5), run('NMs', 2, 0.1, 0.25), run('NMs', 3, 0.4)];
    const c = compare(runs, 'NMs', 'NN');
    expect(c).toMatchObject({ pairs: 3, wins: 1, ties: 1, losses: 1 });
    expect(c.meanDiff).toBeCloseTo(0, 12);
    runs.push(run('DEQ', 1, 0.2, 2), run('DEQ', 2, 0.2, 2));
    expect(speedOverDeq(runs, 'NMs').ratio).toBeCloseTo(Math.sqrt(4 * 8), 10);
  });
});

describe('flags', () => {
  const err = (argv: string[]) => {
    try {
      parseArgs(argv);
    } catch (e) {
      expect(e).toBeInstanceOf(BenchConfigError);
      return (e as Error).message;
    }
    throw new Error(`no error for ${argv.join(' ')}`);
  };

  it('rejects unknown flags and values with the valid ones listed', () => {
    expect(err(['--bogus', '1'])).toMatch(/unknown flag --bogus; valid flags: .*--datasets.*--max-train/);
    expect(err(['--methods', 'NN,MLP'])).toMatch(
      /--methods: unknown value 'MLP'; valid values: NN, DEQ, DAG, CFF, NMs, NMs&L1, NMs&NM, NMs&NM\+sched, NM-default, NM-recipe, OPTNET/,
    );
    expect(err(['--protocol', 'v4'])).toMatch(/--protocol: unknown value 'v4'; valid values: v2, paper, v1, v3/);
    expect(err(['--budget', '33'])).toMatch(/--budget: expected an integer from 1 to 32; received '33'/);
    expect(err(['--workers', '0'])).toMatch(/--workers: expected an integer >= 1/);
    expect(err(['--backend', 'gpu'])).toMatch(/valid values: wasm, cpu/);
    expect(err(['--budget', '3', '--protocol', 'v1'])).toMatch(/--budget: unknown value '3' for --protocol v1; valid values: 1, 2, 4/);
    expect(err(['--nodes', '40,abc'])).toMatch(/--nodes: expected an integer >= 1; received 'abc'/);
    expect(err(['--seeds', '0'])).toMatch(/--seeds: expected an integer >= 1/);
    expect(err(['--epochs'])).toMatch(/--epochs needs a value/);
    expect(err(['train'])).toMatch(/unexpected argument 'train'/);
  });

  it('accepts defaults, case-insensitive methods and the uci subcommand', () => {
    const cfg = parseArgs(['uci', '--methods', 'nms&nm,nn'])!;
    expect(cfg.methods).toEqual(['NN', 'NMs&NM']);
    expect(cfg.datasets).toEqual(['digits', 'satellite', 'letter', 'dna', 'vehicle']);
    expect(cfg.nodes).toEqual([40, 60, 80, 100, 200, 300]);
    expect(cfg.seeds).toEqual([1, 2, 3, 4, 5]);
    expect(cfg).toMatchObject({ protocol: 'v2', epochs: 200, patience: 10, budget: 4, workers: 1 });
    expect(parseArgs([])!.methods).toEqual(['NN', 'DEQ', 'DAG', 'NMs', 'NMs&L1', 'NMs&NM', 'NMs&NM+sched']);
    expect(parseArgs(['--protocol', 'paper'])).toMatchObject({ protocol: 'paper', epochs: 150, patience: 20 });
    expect(parseArgs(['--protocol', 'v1'])).toMatchObject({ protocol: 'v1', epochs: 60, patience: 6 });
    expect(cfg.dataDir.replace(/\\/g, '/')).toMatch(/shared\/datasets$/);
    expect(parseArgs(['--help'])).toBeNull();
  });

  it('names the missing data directory and lists the datasets that exist', () => {
    expect(() => checkData(join(dir, 'nope'), ['digits'])).toThrow(/the dataset directory '.*nope' does not exist/);
    expect(() => checkData(dataDir, ['digits'])).toThrow(/unknown dataset 'digits' .*valid values: tiny/);
  });

  it('makes the CLI exit with code 2 and a message on a bad flag', async () => {
    const spy = vi.spyOn(console, 'error').mockImplementation(() => {});
    try {
      expect(await main(['--methods', 'XYZ'], () => {})).toBe(2);
      expect(String(spy.mock.calls[0][0])).toMatch(/nm-bench uci: --methods: unknown value 'XYZ'/);
    } finally {
      spy.mockRestore();
    }
  });
});
