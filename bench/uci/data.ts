/**
 * Data of one benchmark run: the seeded stratified 70/15/15 split of a dataset,
 * an optional stratified cap on the training part, and standardization with the
 * training statistics.
 */
import { join } from 'node:path';
import * as nm from 'tfjs-neural-modules';

type Table = nm.datasets.Table;

/** Train / validation / test fractions of every split. */
export const SPLIT_FRACTIONS = [0.7, 0.15, 0.15] as const;

/** Index sets of one seed's split (indices into the dataset's rows). */
export interface SplitIndices {
  train: number[];
  val: number[];
  test: number[];
}

/** Standardized parts of a split, as typed arrays (tensors are made by the trainer). */
export interface SplitData {
  train: Table;
  val: Table;
  test: Table;
  numClasses: number;
  numFeatures: number;
}

const cache = new Map<string, Promise<Table>>();

/** Loads `<dir>/<name>.csv` once per process. */
export function loadDataset(dir: string, name: string): Promise<Table> {
  const path = join(dir, `${name}.csv`);
  if (!cache.has(path)) cache.set(path, nm.datasets.loadCsv(path));
  return cache.get(path)!;
}

/**
 * The seeded stratified split: 70/15/15 per class, deterministic for a seed. With
 * `maxTrain`, the training part is cut to a stratified subsample of that size
 * (seeded too); validation and test are unchanged.
 */
export function splitIndices(y: Int32Array, seed: number, maxTrain: number | null = null): SplitIndices {
  const [train, val, test] = nm.datasets.stratifiedSplit(y, [...SPLIT_FRACTIONS], seed);
  return capTraining({ train, val, test }, y, seed, maxTrain);
}

/** `idx` with its training part cut to a stratified subsample of `maxTrain` rows (seeded); unchanged when it is no larger. */
export function capTraining(idx: SplitIndices, y: Int32Array, seed: number, maxTrain: number | null): SplitIndices {
  const { train } = idx;
  if (maxTrain == null || maxTrain >= train.length) return idx;
  const sub = Int32Array.from(train, (i) => y[i]);
  const frac = maxTrain / train.length;
  const [keep] = nm.datasets.stratifiedSplit(sub, [frac, 1 - frac], seed + 7919);
  return { ...idx, train: keep.map((k) => train[k]) };
}

/** The standardized split data of a table for a seed. */
export function makeSplit(table: Table, seed: number, maxTrain: number | null = null): SplitData {
  return standardizedSplit(table, splitIndices(table.y, seed, maxTrain));
}

/** The parts of `table` at `idx`, standardized with the training part's statistics. */
export function standardizedSplit(table: Table, idx: SplitIndices): SplitData {
  const train = nm.datasets.subset(table, idx.train);
  const stats = nm.datasets.featureStats(train);
  return {
    train: nm.datasets.standardize(train, stats),
    val: nm.datasets.standardize(nm.datasets.subset(table, idx.val), stats),
    test: nm.datasets.standardize(nm.datasets.subset(table, idx.test), stats),
    numClasses: table.classes.length,
    numFeatures: table.numFeatures,
  };
}

/**
 * The v4 paper's Table 2 protocol (`--binary`): "converting the multi-class
 * classification task to a binary formulation". The paper does not say how; here
 * class k of C (sorted label order) becomes 0 when k < ceil(C/2), else 1: every class
 * is kept and the two halves are roughly balanced when the classes are. A binary
 * dataset is unchanged.
 */
export function binaryLabel(k: number, numClasses: number): number {
  return k < Math.ceil(numClasses / 2) ? 0 : 1;
}

/** A split with its labels mapped by {@link binaryLabel}: numClasses becomes 2. */
export function toBinary(split: SplitData): SplitData {
  const half = Math.ceil(split.numClasses / 2);
  const map = (t: Table): Table => ({
    ...t,
    y: Int32Array.from(t.y, (k) => binaryLabel(k, split.numClasses)),
    classes: [t.classes.slice(0, half).join('+'), t.classes.slice(half).join('+')],
  });
  return { ...split, train: map(split.train), val: map(split.val), test: map(split.test), numClasses: 2 };
}
