/**
 * Bring your own data (`--csv FILE --label COLUMN [--name NAME] [--drop-columns A,B]
 * [--splits FILE.json | --split-column COLUMN]`): one user CSV with a header row, the
 * label in a named column anywhere, every other column (but the dropped ones and the
 * split column) a numeric feature. Without a predefined split every seed draws the
 * harness's stratified 70/15/15 split (bench/uci/data.ts `makeSplit`); with one, every
 * seed uses the same split and the seed only changes the initialization and the
 * shuffling. Features are standardized with the training part's statistics either way.
 * The format is documented in docs/DATASETS.md.
 *
 * Every error is a {@link BenchConfigError} (exit code 2) naming the flag, the file and,
 * for cell errors, the line (1-based, the header is line 1) and the column.
 */
import { createHash } from 'node:crypto';
import { existsSync, readFileSync, statSync } from 'node:fs';
import * as nm from 'tfjs-neural-modules';
import { BenchConfigError, type CustomDataSpec } from './config.js';
import { capTraining, makeSplit, SPLIT_FRACTIONS, standardizedSplit, type SplitData, type SplitIndices } from './data.js';

type Table = nm.datasets.Table;

/** The parts of a predefined split. */
export const SPLIT_PARTS = ['train', 'val', 'test'] as const;

/** A loaded user dataset: the whole table and, when given, its predefined split. */
export interface CustomData {
  table: Table;
  /** Predefined train/val/test row indices (0-based data rows), or null for the seeded stratified split. */
  split: SplitIndices | null;
}

/** Splits one CSV line into cells; double-quoted cells may hold commas and `""` quotes. */
export function splitCsvLine(line: string): string[] {
  const cells: string[] = [];
  let cur = '';
  let quoted = false;
  for (let i = 0; i < line.length; i++) {
    const ch = line[i];
    if (quoted) {
      if (ch === '"' && line[i + 1] === '"') {
        cur += '"';
        i++;
      } else if (ch === '"') quoted = false;
      else cur += ch;
    } else if (ch === '"') quoted = true;
    else if (ch === ',') {
      cells.push(cur.trim());
      cur = '';
    } else cur += ch;
  }
  cells.push(cur.trim());
  return cells;
}

/** Minimum rows a class needs so the stratified 70/15/15 split gives it a row in every part. */
export function minClassSize(fractions: readonly number[] = SPLIT_FRACTIONS): number {
  const parts = (n: number) => {
    let acc = 0;
    let start = 0;
    return fractions.map((f, k) => {
      acc += f;
      const end = k === fractions.length - 1 ? n : Math.round(acc * n);
      const size = end - start;
      start = end;
      return size;
    });
  };
  for (let n = 1; n < 1000; n++) {
    // The smallest n from which on every size works (the rounding is not monotone for tiny n).
    let ok = true;
    for (let m = n; m < n + 50 && ok; m++) ok = parts(m).every((s) => s >= 1);
    if (ok) return n;
  }
  return Infinity;
}

const where = (spec: CustomDataSpec) => `--csv: '${spec.csv}'`;

/** Parses the CSV text of `--csv` into a table (and the split column's values, when asked). */
export function parseCustomCsv(text: string, spec: CustomDataSpec): { table: Table; splitValues: string[] | null } {
  const lines = text.replace(/^\uFEFF/, '').split(/\r?\n/);
  const rows: { line: number; cells: string[] }[] = [];
  lines.forEach((l, i) => {
    if (l.trim().length > 0) rows.push({ line: i + 1, cells: splitCsvLine(l) });
  });
  if (rows.length === 0) throw new BenchConfigError(`${where(spec)} is empty; expected a header row and data rows.`);
  const header = rows[0].cells;
  const headerLine = rows[0].line;
  const data = rows.slice(1);
  if (data.length === 0) throw new BenchConfigError(`${where(spec)} has a header (line ${headerLine}) but no data rows.`);
  const seen = new Set<string>();
  for (const h of header) {
    if (h === '') throw new BenchConfigError(`${where(spec)}: the header (line ${headerLine}) has an empty column name.`);
    if (seen.has(h)) throw new BenchConfigError(`${where(spec)}: the header (line ${headerLine}) names column '${h}' twice.`);
    seen.add(h);
  }
  const columns = header.join(', ');
  const col = (flag: string, name: string) => {
    const j = header.indexOf(name);
    if (j < 0) throw new BenchConfigError(`--${flag}: no column '${name}' in '${spec.csv}'; its columns are: ${columns}.`);
    return j;
  };
  const labelCol = col('label', spec.label);
  const splitCol = spec.splitColumn != null ? col('split-column', spec.splitColumn) : -1;
  if (splitCol === labelCol) throw new BenchConfigError(`--split-column: '${spec.splitColumn}' is the --label column.`);
  const dropped = new Set(spec.dropColumns.map((c) => col('drop-columns', c)));
  if (dropped.has(labelCol)) throw new BenchConfigError(`--drop-columns: '${spec.label}' is the --label column.`);
  const featureCols = header.map((_, j) => j).filter((j) => j !== labelCol && j !== splitCol && !dropped.has(j));
  if (featureCols.length === 0) throw new BenchConfigError(`${where(spec)}: no feature column is left besides --label '${spec.label}'.`);
  const d = featureCols.length;
  const x = new Float32Array(data.length * d);
  const rawLabels: string[] = new Array(data.length);
  const splitValues: string[] | null = splitCol >= 0 ? new Array(data.length) : null;
  data.forEach(({ line, cells }, i) => {
    if (cells.length !== header.length) {
      throw new BenchConfigError(`${where(spec)}: line ${line} has ${cells.length} cells; the header has ${header.length}.`);
    }
    featureCols.forEach((j, k) => {
      const v = cells[j] === '' ? NaN : Number(cells[j]);
      if (!Number.isFinite(v)) {
        throw new BenchConfigError(
          `${where(spec)}: line ${line}, column '${header[j]}' is not a finite number: ${JSON.stringify(cells[j])}. Every column but --label${splitValues ? ', --split-column' : ''} and --drop-columns must be numeric; drop non-numeric columns with --drop-columns.`,
        );
      }
      x[i * d + k] = v;
    });
    const label = cells[labelCol];
    if (label === '') throw new BenchConfigError(`${where(spec)}: line ${line}, label column '${spec.label}' is empty.`);
    rawLabels[i] = label;
    if (splitValues) splitValues[i] = cells[splitCol];
  });
  // Class order as nm.datasets.parseCsv: sorted, numerically when every label is a number.
  const unique = Array.from(new Set(rawLabels));
  const numeric = unique.every((s) => Number.isFinite(Number(s)));
  unique.sort(numeric ? (a, b) => Number(a) - Number(b) : undefined);
  if (unique.length < 2) {
    throw new BenchConfigError(`--label: column '${spec.label}' of '${spec.csv}' has ${unique.length} class (${unique.join(', ')}); expected at least 2.`);
  }
  const index = new Map(unique.map((c, i) => [c, i]));
  const y = Int32Array.from(rawLabels, (l) => index.get(l)!);
  const table: Table = { x, y, numSamples: data.length, numFeatures: d, classes: unique, featureNames: featureCols.map((j) => header[j]) };
  return { table, splitValues };
}

/** Checks that every class has enough rows for the seeded stratified 70/15/15 split. */
function checkClassSizes(table: Table, spec: CustomDataSpec): void {
  const need = minClassSize();
  const counts = new Array<number>(table.classes.length).fill(0);
  table.y.forEach((c) => counts[c]++);
  const small = table.classes.map((c, k) => [c, counts[k]] as const).filter(([, n]) => n < need);
  if (small.length > 0) {
    throw new BenchConfigError(
      `--label: class${small.length > 1 ? 'es' : ''} ${small.map(([c, n]) => `'${c}' (${n} row${n === 1 ? '' : 's'})`).join(', ')} of '${spec.csv}' ${small.length > 1 ? 'are' : 'is'} too small for the stratified 70/15/15 split: every class needs at least ${need} rows. Merge or drop small classes, or give a predefined split (--splits or --split-column).`,
    );
  }
}

/** Validates a predefined split: non-empty parts, integer indices in range, disjoint; every class has a training row. */
export function checkSplit(split: SplitIndices, table: Table, flag: string, file: string): SplitIndices {
  const n = table.numSamples;
  const owner = new Map<number, string>();
  for (const part of SPLIT_PARTS) {
    const idx = split[part];
    if (idx.length === 0) throw new BenchConfigError(`--${flag}: the '${part}' part of '${file}' is empty; train, val and test each need at least one row.`);
    for (const i of idx) {
      if (!Number.isInteger(i) || i < 0 || i >= n) {
        throw new BenchConfigError(
          `--${flag}: '${part}' of '${file}' holds ${JSON.stringify(i)}, not a data-row index in 0..${n - 1} (0-based, header not counted).`,
        );
      }
      const prev = owner.get(i);
      if (prev !== undefined) {
        throw new BenchConfigError(
          `--${flag}: row ${i} of '${file}' is in '${prev}' and '${part}'${prev === part ? ' twice' : ''}; the parts must be disjoint.`,
        );
      }
      owner.set(i, part);
    }
  }
  const inTrain = new Set(split.train.map((i) => table.y[i]));
  const missing = table.classes.filter((_, k) => !inTrain.has(k));
  if (missing.length > 0) {
    const many = missing.length > 1;
    throw new BenchConfigError(
      `--${flag}: class${many ? 'es' : ''} ${missing.map((c) => `'${c}'`).join(', ')} ${many ? 'have' : 'has'} no row in the 'train' part of '${file}'; every class needs at least one training row.`,
    );
  }
  return split;
}

/** Reads `--splits FILE.json`: `{ "train": [...], "val": [...], "test": [...] }`, 0-based data-row indices. */
export function readSplitsJson(path: string): SplitIndices {
  if (!existsSync(path) || !statSync(path).isFile()) throw new BenchConfigError(`--splits: the file '${path}' does not exist.`);
  let json: unknown;
  try {
    json = JSON.parse(readFileSync(path, 'utf8'));
  } catch (e) {
    throw new BenchConfigError(`--splits: '${path}' is not valid JSON: ${(e as Error).message}`);
  }
  const expected = `expected { "train": [row indices], "val": [...], "test": [...] } (0-based data rows, header not counted)`;
  if (json == null || typeof json !== 'object' || Array.isArray(json)) throw new BenchConfigError(`--splits: '${path}': ${expected}.`);
  const obj = json as Record<string, unknown>;
  const extra = Object.keys(obj).filter((k) => !(SPLIT_PARTS as readonly string[]).includes(k));
  if (extra.length > 0)
    throw new BenchConfigError(`--splits: '${path}' has unknown key${extra.length > 1 ? 's' : ''} ${extra.map((k) => `'${k}'`).join(', ')}; ${expected}.`);
  const part = (k: (typeof SPLIT_PARTS)[number]): number[] => {
    const v = obj[k];
    if (!Array.isArray(v)) throw new BenchConfigError(`--splits: '${path}' has no '${k}' array; ${expected}.`);
    return v as number[];
  };
  return { train: part('train'), val: part('val'), test: part('test') };
}

/** The split given by `--split-column`: its values must be train, val or test (case-insensitive). */
export function splitFromColumn(values: string[], spec: CustomDataSpec): SplitIndices {
  const split: SplitIndices = { train: [], val: [], test: [] };
  values.forEach((v, i) => {
    const part = SPLIT_PARTS.find((p) => p === v.toLowerCase());
    if (!part) {
      throw new BenchConfigError(
        `--split-column: data row ${i} of '${spec.csv}' has ${JSON.stringify(v)} in column '${spec.splitColumn}'; valid values: ${SPLIT_PARTS.join(', ')}.`,
      );
    }
    split[part].push(i);
  });
  return split;
}

/** Loads and validates a user dataset (synchronously; no caching). */
export function readCustomData(spec: CustomDataSpec): CustomData {
  if (!existsSync(spec.csv) || !statSync(spec.csv).isFile()) throw new BenchConfigError(`--csv: the file '${spec.csv}' does not exist.`);
  const { table, splitValues } = parseCustomCsv(readFileSync(spec.csv, 'utf8'), spec);
  let split: SplitIndices | null = null;
  if (spec.splits != null) split = checkSplit(readSplitsJson(spec.splits), table, 'splits', spec.splits);
  else if (splitValues) split = checkSplit(splitFromColumn(splitValues, spec), table, 'split-column', spec.csv);
  else checkClassSizes(table, spec);
  return { table, split };
}

const cache = new Map<string, CustomData>();

/** {@link readCustomData}, once per process and spec. */
export function loadCustomData(spec: CustomDataSpec): CustomData {
  const id = JSON.stringify(spec);
  if (!cache.has(id)) cache.set(id, readCustomData(spec));
  return cache.get(id)!;
}

/**
 * The standardized split data of a user dataset for a seed: the predefined split (the
 * same for every seed) or the seeded stratified 70/15/15 split. `maxTrain` caps the
 * training part with a stratified, seeded subsample as for the built-in datasets.
 */
export function customSplit(spec: CustomDataSpec, seed: number, maxTrain: number | null = null): SplitData {
  const { table, split } = loadCustomData(spec);
  if (!split) return makeSplit(table, seed, maxTrain);
  return standardizedSplit(table, capTraining(split, table.y, seed, maxTrain));
}

/**
 * What of a user dataset changes its trials besides the name, for the trial key: the
 * label and dropped columns, and the split (the seeded stratified one, or a hash of
 * the predefined split's file, so an edited split is a new set of trials).
 */
export function customKeyTag(spec: CustomDataSpec): string {
  const hash = (text: string) => createHash('sha256').update(text).digest('hex').slice(0, 10);
  const enc = encodeURIComponent;
  const drop = spec.dropColumns.length ? `,drop=${spec.dropColumns.map(enc).join('+')}` : '';
  let split = 'stratified';
  if (spec.splits != null) split = `json-${existsSync(spec.splits) ? hash(readFileSync(spec.splits, 'utf8')) : 'missing'}`;
  else if (spec.splitColumn != null) split = `column-${enc(spec.splitColumn)}`;
  return `csv(label=${enc(spec.label)}${drop},split=${split})`;
}

/** Data rows of a user dataset's training part (for `--estimate`). */
export function customTrainRows(spec: CustomDataSpec): number {
  const { table, split } = loadCustomData(spec);
  return split ? split.train.length : Math.round(SPLIT_FRACTIONS[0] * table.numSamples);
}
