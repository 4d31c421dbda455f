/**
 * Bring your own data in the UCI benchmark (bench/uci/custom_data.ts, docs/DATASETS.md):
 * a user CSV with the label column anywhere, predefined splits (JSON and column forms),
 * standardization with the training statistics, clear errors, distinct trial keys, and
 * one end-to-end run of the CLI. Every CSV is generated here (nothing from ../shared).
 */
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { main } from '../bench/uci/cli.js';
import { BenchConfigError, parseArgs, type CustomDataSpec } from '../bench/uci/config.js';
import { customSplit, minClassSize, readCustomData, splitCsvLine } from '../bench/uci/custom_data.js';
import { makeSplit } from '../bench/uci/data.js';
import { planTrials } from '../bench/uci/runner.js';
import { TRIALS_FILE } from '../bench/uci/store.js';

let dir: string;
const file = (name: string, text: string) => {
  const path = join(dir, name);
  writeFileSync(path, text);
  return path;
};

/**
 * Eight rows; the label `cls` is the second column, `who` (quoted, with commas) and `id`
 * are not features, `part` is a predefined split. Training rows 0-3: f1 = 1,2,3,4 (mean
 * 2.5, population std sqrt(1.25)), f2 = 10,14,10,14 (mean 12, std 2).
 */
const SMALL = [
  'f1,cls,who,f2,id,part',
  '1,b,"Smith, J",10,100,train',
  '2,a,"Doe, ""A""",14,101,train',
  '3,c,x,10,102,train',
  '4,a,y,14,103,Train',
  '5,c,z,10,104,val',
  '6,b,z,12,105,test',
  '9,a,z,20,106,val',
  '0,c,z,8,107,test',
].join('\n');

/** The flags → spec path the CLI takes (parseArgs), relative to the temp dir. */
const spec = (argv: string[]): CustomDataSpec => parseArgs(argv, dir)!.custom!;
/** small.csv without its text and id columns (and without `part` unless it is the --split-column). */
const smallSpec = (extra: string[] = []) =>
  spec(['--csv', 'small.csv', '--label', 'cls', '--drop-columns', extra.includes('--split-column') ? 'who,id' : 'who,id,part', ...extra]);

/** The message of the BenchConfigError `fn` throws. */
function err(fn: () => unknown): string {
  try {
    fn();
  } catch (e) {
    expect(e).toBeInstanceOf(BenchConfigError);
    return (e as Error).message;
  }
  throw new Error('no error thrown');
}

/** `rows` rows per class of 3 Gaussian blobs in 3 features, label `cls` in the middle, numeric class names. */
function blobs(rows: number, seedShift = 0): string {
  const lines = ['u,v,cls,w'];
  for (let i = 0; i < 3 * rows; i++) {
    const k = i % 3;
    const r = (j: number) => (Math.sin(17 * i + 5 * j + seedShift) * 0.5 + (j === k ? 2 : 0)).toFixed(4);
    lines.push([r(0), r(1), ['9', '10', '100'][k], r(2)].join(','));
  }
  return lines.join('\n');
}

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'nm-uci-custom-'));
  file('small.csv', SMALL);
  file('small_split.json', JSON.stringify({ train: [0, 1, 2, 3], val: [4, 6], test: [5, 7] }));
  file('blobs.csv', blobs(20));
});

afterAll(() => {
  rmSync(dir, { recursive: true, force: true });
});

describe('loading a user CSV', () => {
  it('splits quoted cells with commas and doubled quotes', () => {
    expect(splitCsvLine('1, "a, b" ,"say ""hi""",')).toEqual(['1', 'a, b', 'say "hi"', '']);
  });

  it('reads the label from the middle, maps string labels in sorted order, keeps the other columns as features', () => {
    const { table, split } = readCustomData(smallSpec(['--split-column', 'part']));
    expect(table.featureNames).toEqual(['f1', 'f2']);
    expect(table.classes).toEqual(['a', 'b', 'c']);
    expect(Array.from(table.y)).toEqual([1, 0, 2, 0, 2, 1, 0, 2]);
    expect(table.numSamples).toBe(8);
    expect(Array.from(table.x)).toEqual([1, 10, 2, 14, 3, 10, 4, 14, 5, 10, 6, 12, 9, 20, 0, 8]);
    // Column values are case-insensitive: 'Train' is train.
    expect(split).toEqual({ train: [0, 1, 2, 3], val: [4, 6], test: [5, 7] });
  });

  it('sorts numeric labels numerically', () => {
    const { table } = readCustomData(spec(['--csv', 'blobs.csv', '--label', 'cls']));
    expect(table.classes).toEqual(['9', '10', '100']);
    expect(table.featureNames).toEqual(['u', 'v', 'w']);
    expect(Array.from(table.y.slice(0, 6))).toEqual([0, 1, 2, 0, 1, 2]);
  });

  it('names the dataset after the file, or --name', () => {
    expect(smallSpec().name).toBe('small');
    expect(smallSpec(['--name', 'codon_usage-1']).name).toBe('codon_usage-1');
    expect(parseArgs(['--csv', 'small.csv', '--label', 'cls'], dir)!.datasets).toEqual(['small']);
  });
});

describe('predefined splits', () => {
  const s = Math.sqrt(1.25);
  /** Rows (f1, f2) standardized by hand with the training rows' mean (2.5, 12) and std (sqrt 1.25, 2). */
  const std = (rows: [number, number][]) => rows.flatMap(([a, b]) => [(a - 2.5) / s, (b - 12) / 2]);
  const expectClose = (got: Float32Array, want: number[]) => {
    expect(got).toHaveLength(want.length);
    want.forEach((w, i) => expect(got[i]).toBeCloseTo(w, 5));
  };

  for (const form of ['--splits', '--split-column'] as const) {
    it(`${form}: standardizes with the training rows' statistics and is the same split for every seed`, () => {
      const sp = smallSpec(form === '--splits' ? ['--splits', 'small_split.json'] : ['--split-column', 'part']);
      const a = customSplit(sp, 1);
      expectClose(
        a.train.x,
        std([
          [1, 10],
          [2, 14],
          [3, 10],
          [4, 14],
        ]),
      );
      expectClose(
        a.val.x,
        std([
          [5, 10],
          [9, 20],
        ]),
      );
      expectClose(
        a.test.x,
        std([
          [6, 12],
          [0, 8],
        ]),
      );
      expect(Array.from(a.train.y)).toEqual([1, 0, 2, 0]);
      expect(Array.from(a.val.y)).toEqual([2, 0]);
      expect(Array.from(a.test.y)).toEqual([1, 2]);
      expect(a).toMatchObject({ numClasses: 3, numFeatures: 2 });
      const b = customSplit(sp, 2);
      expect(Array.from(b.train.x)).toEqual(Array.from(a.train.x));
      expect(Array.from(b.test.y)).toEqual(Array.from(a.test.y));
    });
  }

  it('caps the predefined training part with --max-train (stratified) and leaves val/test alone', () => {
    const range = (from: number, to: number) => Array.from({ length: to - from }, (_, i) => from + i);
    file('blobs_split.json', JSON.stringify({ train: range(0, 30), val: range(30, 45), test: range(45, 60) }));
    const sp = spec(['--csv', 'blobs.csv', '--label', 'cls', '--splits', 'blobs_split.json']);
    const capped = customSplit(sp, 1, 15);
    expect(capped.train.numSamples).toBe(15);
    expect([0, 1, 2].map((k) => Array.from(capped.train.y).filter((c) => c === k).length)).toEqual([5, 5, 5]);
    expect(capped.val.numSamples).toBe(15);
    expect(capped.test.numSamples).toBe(15);
    expect(customSplit(sp, 1).train.numSamples).toBe(30);
  });

  it('without a predefined split, draws the harness split (seeded stratified 70/15/15) of the table', () => {
    const sp = spec(['--csv', 'blobs.csv', '--label', 'cls']);
    const { table } = readCustomData(sp);
    const a = customSplit(sp, 1);
    const ref = makeSplit(table, 1);
    expect(Array.from(a.train.x)).toEqual(Array.from(ref.train.x));
    expect(Array.from(a.test.y)).toEqual(Array.from(ref.test.y));
    expect([a.train.numSamples, a.val.numSamples, a.test.numSamples]).toEqual([42, 9, 9]);
    expect(Array.from(customSplit(sp, 2).train.x)).not.toEqual(Array.from(a.train.x));
    // Standardized with the training statistics: each training feature has mean 0, std 1.
    for (let j = 0; j < 3; j++) {
      const col = Array.from({ length: 42 }, (_, i) => a.train.x[i * 3 + j]);
      const m = col.reduce((p, q) => p + q, 0) / 42;
      expect(m).toBeCloseTo(0, 5);
      expect(Math.sqrt(col.reduce((p, q) => p + (q - m) ** 2, 0) / 42)).toBeCloseTo(1, 4);
    }
  });
});

describe('errors name the flag, the file and the value', () => {
  it('missing file, empty file, header only', () => {
    expect(err(() => readCustomData(spec(['--csv', 'nope.csv', '--label', 'cls'])))).toMatch(/^--csv: the file '.*nope\.csv' does not exist/);
    file('empty.csv', '\n\n');
    expect(err(() => readCustomData(spec(['--csv', 'empty.csv', '--label', 'cls'])))).toMatch(/^--csv: '.*empty\.csv' is empty/);
    file('header.csv', 'a,cls\n');
    expect(err(() => readCustomData(spec(['--csv', 'header.csv', '--label', 'cls'])))).toMatch(
      /^--csv: '.*header\.csv' has a header \(line 1\) but no data rows/,
    );
  });

  it('unknown label column, listing the columns', () => {
    expect(err(() => readCustomData(spec(['--csv', 'small.csv', '--label', 'klass'])))).toMatch(
      /^--label: no column 'klass' in '.*small\.csv'; its columns are: f1, cls, who, f2, id, part\./,
    );
    expect(err(() => readCustomData(smallSpec(['--split-column', 'fold'])))).toMatch(/^--split-column: no column 'fold' in/);
    expect(err(() => readCustomData({ ...smallSpec(), dropColumns: ['nope'] }))).toMatch(/^--drop-columns: no column 'nope' in/);
  });

  it('a non-numeric feature value, with its line and column', () => {
    // 'who' is text and not dropped: line 2 (the first data row), column 'who'.
    expect(err(() => readCustomData(spec(['--csv', 'small.csv', '--label', 'cls', '--split-column', 'part'])))).toMatch(
      /^--csv: '.*small\.csv': line 2, column 'who' is not a finite number: "Smith, J"\./,
    );
    file('blank.csv', 'a,cls,b\n1,x,2\n\n3,y,\n');
    expect(err(() => readCustomData(spec(['--csv', 'blank.csv', '--label', 'cls'])))).toMatch(/line 4, column 'b' is not a finite number: ""/);
    file('ragged.csv', 'a,cls\n1,x\n2\n');
    expect(err(() => readCustomData(spec(['--csv', 'ragged.csv', '--label', 'cls'])))).toMatch(/line 3 has 1 cells; the header has 2/);
  });

  it('fewer than 2 classes, and a class too small for the stratified split', () => {
    file('one.csv', 'a,cls\n1,x\n2,x\n3,x\n');
    expect(err(() => readCustomData(spec(['--csv', 'one.csv', '--label', 'cls'])))).toMatch(
      /^--label: column 'cls' of '.*one\.csv' has 1 class \(x\); expected at least 2/,
    );
    expect(minClassSize()).toBe(6);
    const rows = ['a,cls', ...Array.from({ length: 12 }, (_, i) => `${i},big`), ...Array.from({ length: 5 }, (_, i) => `${i},tiny`)];
    file('small_class.csv', rows.join('\n'));
    expect(err(() => readCustomData(spec(['--csv', 'small_class.csv', '--label', 'cls'])))).toMatch(
      /^--label: class 'tiny' \(5 rows\) of '.*small_class\.csv' is too small for the stratified 70\/15\/15 split: every class needs at least 6 rows/,
    );
  });

  it('bad predefined splits: out of range, overlapping, empty part, unknown key, a class without training rows, a bad column value', () => {
    const bad = (name: string, json: unknown) => err(() => readCustomData(smallSpec(['--splits', file(name, JSON.stringify(json))])));
    expect(bad('r.json', { train: [0, 1, 2, 3], val: [4, 8], test: [5] })).toMatch(/^--splits: 'val' of '.*r\.json' holds 8, not a data-row index in 0\.\.7/);
    expect(bad('f.json', { train: [0, 1, 2, 3], val: [1.5], test: [5] })).toMatch(/'val' of '.*f\.json' holds 1\.5/);
    expect(bad('o.json', { train: [0, 1, 2, 3], val: [4], test: [3] })).toMatch(
      /^--splits: row 3 of '.*o\.json' is in 'train' and 'test'; the parts must be disjoint/,
    );
    expect(bad('e.json', { train: [0, 1, 2, 3], val: [], test: [5] })).toMatch(/^--splits: the 'val' part of '.*e\.json' is empty/);
    expect(bad('k.json', { train: [0, 1, 2, 3], valid: [4], test: [5] })).toMatch(/^--splits: '.*k\.json' has unknown key 'valid'/);
    expect(bad('c.json', { train: [0, 1, 3], val: [4], test: [5] })).toMatch(/^--splits: class 'c' has no row in the 'train' part of '.*c\.json'/);
    file('notjson.json', '{ train: [0] }');
    expect(err(() => readCustomData(smallSpec(['--splits', 'notjson.json'])))).toMatch(/^--splits: '.*notjson\.json' is not valid JSON/);
    expect(err(() => readCustomData(smallSpec(['--splits', 'missing.json'])))).toMatch(/^--splits: the file '.*missing\.json' does not exist/);
    file('badcol.csv', SMALL.replace('0,c,z,8,107,test', '0,c,z,8,107,holdout'));
    expect(err(() => readCustomData(spec(['--csv', 'badcol.csv', '--label', 'cls', '--drop-columns', 'who,id', '--split-column', 'part'])))).toMatch(
      /^--split-column: data row 7 of '.*badcol\.csv' has "holdout" in column 'part'; valid values: train, val, test/,
    );
  });

  it('flag combinations and unsafe names', () => {
    const flags = (argv: string[]) => err(() => parseArgs(argv, dir));
    expect(flags(['--csv', 'small.csv', '--label', 'cls', '--datasets', 'digits'])).toMatch(/^--csv replaces --datasets and --data/);
    expect(flags(['--csv', 'small.csv', '--label', 'cls', '--data', 'x'])).toMatch(/^--csv replaces --datasets and --data/);
    expect(flags(['--label', 'cls'])).toMatch(/^--label needs --csv FILE/);
    expect(flags(['--splits', 'a.json'])).toMatch(/^--splits needs --csv FILE/);
    expect(flags(['--csv', 'small.csv'])).toMatch(/^--csv: '.*small\.csv' needs --label COLUMN/);
    expect(flags(['--csv', 'small.csv', '--label', 'cls', '--splits', 'a.json', '--split-column', 'part'])).toMatch(/^--splits and --split-column .* give one/);
    expect(flags(['--csv', 'small.csv', '--label', 'cls', '--name', 'a|b'])).toMatch(/^--name: 'a\|b' is not a safe dataset name/);
    expect(flags(['--csv', 'my data.csv', '--label', 'cls'])).toMatch(/^--csv: the file name gives the dataset name 'my data', which is not safe.*--name NAME/);
  });

  it('makes the CLI exit with code 2 and the message', async () => {
    const spy = vi.spyOn(console, 'error').mockImplementation(() => {});
    try {
      expect(await main(['--csv', join(dir, 'small.csv'), '--label', 'klass', '--out', join(dir, 'never')], () => {})).toBe(2);
      expect(String(spy.mock.calls[0][0])).toMatch(/nm-bench uci: --label: no column 'klass'/);
      expect(existsSync(join(dir, 'never', TRIALS_FILE))).toBe(false);
    } finally {
      spy.mockRestore();
    }
  });
});

describe('trial keys', () => {
  it('carry the name and the data tag, so custom trials never mix with built-in ones or with another split', () => {
    const args = ['--methods', 'NN', '--nodes', '4', '--seeds', '2', '--budget', '1'];
    const strat = planTrials(parseArgs(['--csv', 'small.csv', '--label', 'cls', '--drop-columns', 'who,id', '--name', 'digits', ...args], dir)!);
    const builtin = planTrials(parseArgs(['--datasets', 'digits', ...args], dir)!);
    expect(strat.map((t) => t.dataset)).toEqual(['digits', 'digits']);
    expect(strat[0].key).toMatch(/^digits\|NN\|p4\|s1\|.*\|csv\(label=cls,drop=who\+id,split=stratified\)$/);
    expect(builtin.every((b) => strat.every((s) => s.key !== b.key))).toBe(true);
    const json = planTrials(parseArgs(['--csv', 'small.csv', '--label', 'cls', '--splits', 'small_split.json', ...args], dir)!);
    expect(json[0].key).toMatch(/\|csv\(label=cls,split=json-[0-9a-f]{10}\)$/);
    file('small_split2.json', JSON.stringify({ train: [0, 1, 2, 3, 4], val: [6], test: [5, 7] }));
    const json2 = planTrials(parseArgs(['--csv', 'small.csv', '--label', 'cls', '--splits', 'small_split2.json', ...args], dir)!);
    expect(json2[0].key).not.toBe(json[0].key);
    const col = planTrials(parseArgs(['--csv', 'small.csv', '--label', 'cls', '--split-column', 'part', ...args], dir)!);
    expect(col[0].key).toMatch(/\|csv\(label=cls,split=column-part\)$/);
  });
});

describe('end to end', () => {
  it('trains on the user CSV, writes trials.jsonl and tables under the name, and resumes', async () => {
    const out = join(dir, 'out');
    const argv = ['--csv', join(dir, 'blobs.csv'), '--label', 'cls', '--name', 'myblobs', '--epochs', '1', '--methods', 'NN', '--nodes', '4'];
    argv.push('--seeds', '1', '--budget', '1', '--backend', 'cpu', '--out', out);
    const log: string[] = [];
    expect(await main(argv, (s) => log.push(s))).toBe(0);
    const lines = readFileSync(join(out, TRIALS_FILE), 'utf8').trim().split('\n');
    expect(lines).toHaveLength(1);
    const rec = JSON.parse(lines[0]);
    expect(rec).toMatchObject({ dataset: 'myblobs', method: 'NN', nodes: 4, seed: 1, samples: { train: 42, val: 9, test: 9 } });
    expect(rec.key).toMatch(/^myblobs\|NN\|p4\|s1\|/);
    expect(rec.settings.data).toBe('csv(label=cls,split=stratified)');
    expect(readFileSync(join(out, 'tables.md'), 'utf8')).toContain('myblobs');
    expect(existsSync(join(out, 'plots', 'error_myblobs.svg'))).toBe(true);
    const results = JSON.parse(readFileSync(join(out, 'results.json'), 'utf8'));
    expect(results.settings.custom).toMatchObject({ label: 'cls', name: 'myblobs', splits: null });
    const again: string[] = [];
    expect(await main(argv, (s) => again.push(s))).toBe(0);
    expect(again.join('\n')).toContain('trained 0 trials, skipped 1 already stored');
  });
});
