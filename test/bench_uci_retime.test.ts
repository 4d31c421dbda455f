/**
 * `--retime` (bench/uci/retime.ts): the plan (complete cells only, the methods' order
 * rotated), resuming a cut-short cell as a whole, the speed rows switching to the
 * reruns, and a tiny v3 grid retimed end to end, where every rerun must reproduce its
 * stored trial.
 */
import * as tf from '@tensorflow/tfjs';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { collectRuns, type RunResult } from '../bench/uci/aggregate.js';
import { v3ClaimRows } from '../bench/uci/claims_v3.js';
import { parseArgs, type BenchConfig, type MethodName } from '../bench/uci/config.js';
import { main } from '../bench/uci/cli.js';
import { pendingRetime, planRetime, RETIME_FILE, retimedRuns, retimeSpeedTable, runRetime } from '../bench/uci/retime.js';
import { runGrid } from '../bench/uci/runner.js';
import { TrialStore, type TrialRecord } from '../bench/uci/store.js';
import { Random } from '../src/utils/random.js';
import { useBackend } from './helpers/backends.js';

const run = (dataset: string, method: MethodName, nodes: number, seed: number, secondsPerEpoch = 1): RunResult =>
  ({
    dataset,
    method,
    nodes,
    seed,
    key: `${dataset}|${method}|${nodes}|${seed}`,
    configIndex: 0,
    config: { lr: 1e-3 },
    secondsPerEpoch,
    testError: 0.1,
  }) as RunResult;

describe('the retime plan', () => {
  const methods: MethodName[] = ['NN', 'DEQ', 'NMs'];
  const cfg = { seeds: [1, 2], datasets: ['a'], nodes: [10, 20], methods };
  const runs = [1, 2].flatMap((seed) => [10, 20].flatMap((p) => methods.map((m) => run('a', m, p, seed))));

  it('takes the selected trial of every method in each complete cell, the order rotated from cell to cell', () => {
    const plan = planRetime(runs, cfg);
    expect(plan).toHaveLength(12);
    expect(plan.map((t) => t.method)).toEqual(['NN', 'DEQ', 'NMs', 'DEQ', 'NMs', 'NN', 'NMs', 'NN', 'DEQ', 'NN', 'DEQ', 'NMs']);
    expect(plan.slice(0, 3).map((t) => t.key)).toEqual(['a|NN|10|1', 'a|DEQ|10|1', 'a|NMs|10|1']);
  });

  it('leaves out a cell where a method has no complete run', () => {
    const plan = planRetime(
      runs.filter((r) => !(r.seed === 2 && r.nodes === 10 && r.method === 'DEQ')),
      cfg,
    );
    expect(plan).toHaveLength(9);
    expect(plan.some((t) => t.seed === 2 && t.nodes === 10)).toBe(false);
  });

  it('retimes a cut-short cell as a whole and skips complete ones', () => {
    const dir = mkdtempSync(join(tmpdir(), 'nm-retime-'));
    try {
      const store = new TrialStore(dir, RETIME_FILE);
      const plan = planRetime(runs, cfg);
      for (const t of plan.slice(0, 4)) store.append({ key: t.key } as TrialRecord);
      const pending = pendingRetime(plan, store);
      expect(pending.map((t) => t.key)).toEqual(plan.slice(3).map((t) => t.key));
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it("the speed rows compare the reruns' times when given, the grid's otherwise", () => {
    // In the grid DEQ looks 4× slower than NMs; in the same-window reruns it is 2× slower.
    const grid = [1, 2, 3, 4, 5, 6].flatMap((seed) => [run(`d${seed}`, 'DEQ', 10, seed, 4), run(`d${seed}`, 'NMs', 10, seed, 1)]);
    const retimes = grid.map((r) => ({ key: r.key, secondsPerEpoch: r.method === 'DEQ' ? 2 : 1 }) as TrialRecord);
    const row = (speedRuns?: RunResult[]) => v3ClaimRows(grid, speedRuns).find((r) => r.claim === 'NMs faster than DEQ')!;
    expect(Math.exp(row().test.mean)).toBeCloseTo(4, 9);
    expect(Math.exp(row(retimedRuns(grid, retimes)).test.mean)).toBeCloseTo(2, 9);
    expect(retimedRuns(grid, retimes.slice(2))).toHaveLength(10);
  });

  it('tabulates DEQ ÷ method per dataset and p as the geometric mean over the retimed seeds', () => {
    const timed = [run('a', 'DEQ', 10, 1, 4), run('a', 'NMs', 10, 1, 1), run('a', 'DEQ', 10, 2, 2), run('a', 'NMs', 10, 2, 2), run('a', 'DEQ', 20, 1, 3)];
    const table = retimeSpeedTable(timed, ['NN', 'DEQ', 'NMs'], ['a'], [10, 20, 30]);
    expect(table.split('\n')).toEqual(['| dataset | p | seeds | NN | NMs |', '|---|---|---|---|---|', '| a | 10 | 2 | – | ×2.00 |', '| a | 20 | 1 | – | – |']);
  });
});

describe('--retime on a tiny v3 grid', () => {
  let dir: string;
  let cfg: BenchConfig;
  let args: string[];
  beforeAll(async () => {
    await useBackend('cpu');
    dir = mkdtempSync(join(tmpdir(), 'nm-retime-grid-'));
    mkdirSync(join(dir, 'data'));
    const rng = new Random(5);
    const rows = ['a,b,c,label'];
    for (let i = 0; i < 60; i++) {
      const k = i % 2;
      rows.push([0, 1, 2].map((j) => ((j === k ? 1.5 : 0) + 0.6 * rng.normal()).toFixed(4)).join(',') + `,k${k}`);
    }
    writeFileSync(join(dir, 'data', 'tiny.csv'), rows.join('\n'));
    args = ['--protocol', 'v3', '--data', join(dir, 'data'), '--datasets', 'tiny', '--nodes', '5', '--seeds', '2', '--budget', '2'];
    args.push('--methods', 'NN,DEQ,NMs&NM,NM-recipe', '--epochs', '3', '--patience', '1', '--batch-size', '16', '--backend', 'cpu', '--out', join(dir, 'out'));
    cfg = parseArgs(args)!;
    await runGrid(cfg, { write: () => {}, inPlace: false });
  }, 120_000);
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('reruns every selected training, each reproduces its stored trial, and the report uses the reruns', async () => {
    const before = tf.memory().numTensors;
    const first = await runRetime(cfg, () => {});
    expect(tf.memory().numTensors).toBe(before);
    const { runs } = collectRuns(cfg, new TrialStore(cfg.out));
    expect(runs).toHaveLength(8);
    expect(first).toMatchObject({ executed: 8, reproduced: 8, skipped: 0 });
    const retimes = new TrialStore(cfg.out, RETIME_FILE);
    const stored = new TrialStore(cfg.out);
    for (const r of runs) {
      const again = retimes.get(r.key)!;
      expect(again.testError).toBe(stored.get(r.key)!.testError);
      expect(again.secondsPerEpoch).toBeGreaterThan(0);
    }
    expect((await runRetime(cfg, () => {})).executed).toBe(0);

    const log: string[] = [];
    expect(await main([...args, '--report-only'], (s) => log.push(s))).toBe(0);
    const md = readFileSync(join(cfg.out, 'tables.md'), 'utf8');
    expect(md).toContain('from the same-window reruns of `--retime` (8 runs in 2 (dataset, p, seed) cells');
    expect(md).toContain('## Protocol v3: same-window timing (`--retime`)');
    for (const m of ['NN', 'DEQ', 'NMs&NM', 'NM-recipe']) expect(md).toMatch(new RegExp(`\\| ${m} \\| 2 \\| 2/2 \\| ×\\d`));
  }, 120_000);
});
