/**
 * CSV classification data: every column but the last is a numeric feature, the
 * last column is the class label (string or integer, treated as categorical).
 */
import { nodeHost } from '../platform/host.js';
import { ConfigError } from '../utils/errors.js';

/** A classification table held in typed arrays. */
export interface Table {
  /** Row-major features, `numSamples × numFeatures`. */
  x: Float32Array;
  /** Class index per sample, into `classes`. */
  y: Int32Array;
  numSamples: number;
  numFeatures: number;
  /** Class names in index order (sorted; numerically when all labels are numbers). */
  classes: string[];
  featureNames: string[];
}

/** Options of {@link parseCsv} and {@link loadCsv}. */
export interface CsvOptions {
  /** Name used in error messages. Default: `'csv'`. */
  source?: string;
}

/** Parses CSV text with a header row into a {@link Table}. */
export function parseCsv(text: string, opts: CsvOptions = {}): Table {
  const source = opts.source ?? 'csv';
  const lines = text.split(/\r?\n/).filter((l) => l.trim().length > 0);
  if (lines.length < 2) throw new ConfigError(`parseCsv(${source}): expected a header and at least one row; received ${lines.length} line(s).`);
  const header = lines[0].split(',').map((s) => s.trim());
  const numFeatures = header.length - 1;
  if (numFeatures < 1) throw new ConfigError(`parseCsv(${source}): expected at least 2 columns; received ${header.length}.`);
  const numSamples = lines.length - 1;
  const x = new Float32Array(numSamples * numFeatures);
  const rawLabels: string[] = new Array(numSamples);
  for (let i = 0; i < numSamples; i++) {
    const cells = lines[i + 1].split(',');
    if (cells.length !== header.length) {
      throw new ConfigError(`parseCsv(${source}): line ${i + 2} has ${cells.length} cells; expected ${header.length}.`);
    }
    for (let j = 0; j < numFeatures; j++) {
      const v = Number(cells[j]);
      if (!Number.isFinite(v)) {
        throw new ConfigError(`parseCsv(${source}): line ${i + 2}, column '${header[j]}' is not a finite number: ${JSON.stringify(cells[j])}.`);
      }
      x[i * numFeatures + j] = v;
    }
    rawLabels[i] = cells[numFeatures].trim().replace(/^"|"$/g, '');
  }
  const unique = Array.from(new Set(rawLabels));
  const numeric = unique.every((s) => s !== '' && Number.isFinite(Number(s)));
  unique.sort(numeric ? (a, b) => Number(a) - Number(b) : undefined);
  const index = new Map(unique.map((c, i) => [c, i]));
  const y = Int32Array.from(rawLabels, (l) => index.get(l)!);
  return { x, y, numSamples, numFeatures, classes: unique, featureNames: header.slice(0, numFeatures) };
}

/**
 * Reads a CSV file (Node only: the package's Node entry; in the browser build it throws
 * a `ConfigError`, use `fetch` + {@link parseCsv}) into a {@link Table}. Errors name the file.
 */
export async function loadCsv(path: string, opts: CsvOptions = {}): Promise<Table> {
  const fs = nodeHost('nm.datasets.loadCsv').fsp;
  let text: string;
  try {
    text = await fs.readFile(path, 'utf8');
  } catch (e) {
    throw new ConfigError(`loadCsv: cannot read '${path}': ${(e as Error).message}`);
  }
  return parseCsv(text, { source: opts.source ?? path });
}
