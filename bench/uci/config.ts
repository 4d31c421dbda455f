/**
 * Command-line configuration of the UCI benchmark: flags, defaults, validation.
 * Every error names the flag and lists the valid values.
 */
import { existsSync, readdirSync, statSync } from 'node:fs';
import { basename, dirname, extname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

/**
 * The methods of shared/DESIGN.md §4, in table order, the CFF baseline of the v4 paper's Table 2 (nm.cff, docs/guide/cff.md),
 * OPTNET (an OptNet QP hidden layer), and two arms of the library's own settings (protocol v3, bench/uci/README.md):
 * NM-default (`neuralModule` with its defaults and `nm.regularizers.nm()`) and NM-recipe (the structure recipe of docs/STRUCTURE.md).
 */
export const METHOD_NAMES = ['NN', 'DEQ', 'DAG', 'CFF', 'NMs', 'NMs&L1', 'NMs&NM', 'NMs&NM+sched', 'NM-default', 'NM-recipe', 'OPTNET'] as const;
export type MethodName = (typeof METHOD_NAMES)[number];
/** The methods a run trains when --methods is not given (CFF and OPTNET only on request: they are the slow v4 baselines). */
export const DEFAULT_METHODS: readonly MethodName[] = ['NN', 'DEQ', 'DAG', 'NMs', 'NMs&L1', 'NMs&NM', 'NMs&NM+sched'];
/** The methods of protocol v3 when --methods is not given: the papers' six, the library default and the structure recipe. */
export const V3_METHODS: readonly MethodName[] = ['NN', 'DEQ', 'DAG', 'NMs', 'NMs&L1', 'NMs&NM', 'NM-default', 'NM-recipe'];

/**
 * Tuning and training protocols (bench/uci/README.md):
 * - `v2` (default): per run, B configurations drawn from independent grids (Adam lr;
 *   ρ; λ or α on a log grid 1e-4…1e-1), trained until early stopping (cap 200 epochs).
 * - `paper`: the papers' optimizer, SGD lr 0.1 momentum 0.5, up to 150 epochs with
 *   patience 20; B configurations of (ρ; λ or α) drawn as in v2 (NN and DEQ have one).
 * - `v1`: the fixed two-level designs of the first report (budget 1, 2 or 4).
 * - `v3`: equal-size grids ({@link V3_GRID_SIZE} configurations per method, bench/uci/grids_v3.ts),
 *   `contractive` as a grid factor, full training sets, p ∈ {40, 100, 300}, 10 seeds, the
 *   NM-default and NM-recipe arms, cluster-aware statistics (bench/uci/claims_v3.ts).
 */
export const PROTOCOLS = ['v2', 'paper', 'v1', 'v3'] as const;
export type Protocol = (typeof PROTOCOLS)[number];
/** The engines DEQ can run on (`--deq-engine`). */
export const DEQ_ENGINES = ['host', 'tensor'] as const;

/**
 * The `engine` of a method's Neural Module layer: `--deq-engine` for DEQ (ρ = 1), `'auto'`
 * for every other layer (the host engine on wasm and cpu at their densities).
 */
export function layerEngine(method: MethodName, deqEngine: (typeof DEQ_ENGINES)[number]): 'auto' | 'host' | 'tensor' {
  return method === 'DEQ' ? deqEngine : 'auto';
}

/** Epoch cap and patience per protocol when --epochs / --patience are not given. */
export const PROTOCOL_DEFAULTS: Record<Protocol, { epochs: number; patience: number; budget: number }> = {
  v2: { epochs: 200, patience: 10, budget: 4 },
  paper: { epochs: 150, patience: 20, budget: 4 },
  v1: { epochs: 60, patience: 6, budget: 4 },
  v3: { epochs: 200, patience: 10, budget: 4 },
};
/** Configurations in every method's grid under protocol v3 (the largest v3 budget). */
export const V3_GRID_SIZE = 16;
/** Node counts and seeds of protocol v3 when --nodes / --seeds are not given. */
export const V3_NODES = [40, 100, 300];
export const V3_SEEDS = 10;
/** Largest tuning budget of v2 / paper. */
export const MAX_BUDGET = 32;

export const DEFAULT_DATASETS = ['digits', 'satellite', 'letter', 'dna', 'vehicle'];
export const DEFAULT_NODES = [40, 60, 80, 100, 200, 300];
export const BACKENDS = ['wasm', 'cpu'] as const;
export const BUDGETS = [1, 2, 4] as const;
export const NM_FORMS = ['repulsion', 'size'] as const;

/** The package root (two levels above this file). */
export const PACKAGE_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');

/** Fully resolved benchmark settings. */
export interface BenchConfig {
  datasets: string[];
  dataDir: string;
  nodes: number[];
  methods: MethodName[];
  /** Seeds 1..N. */
  seeds: number[];
  /** Maximum epochs per training (early stopping may end sooner). */
  epochs: number;
  /** Epochs without a validation-loss improvement before stopping. */
  patience: number;
  /** Configurations tried per (dataset, method, nodes, seed): the tuning budget. */
  budget: number;
  /** Tuning and training protocol (see {@link PROTOCOLS}). */
  protocol: Protocol;
  /** Training processes run at once (one per core). */
  workers: number;
  batchSize: number;
  /** Directory of the trial store (trials.jsonl, or trials.jsonl.gz as kept in bench/results/) and, by default, of the report. */
  out: string;
  /** Directory of the report (results.json, tables.md, plots/); default null = {@link out}. E.g. docs/results/uci16 for the published tables of bench/results/uci16. */
  tables?: string | null;
  backend: (typeof BACKENDS)[number];
  /** Cap on training samples (stratified subsample), or null for all. */
  maxTrain: number | null;
  /** Form of the NM regularizer (NMs&NM). */
  nmForm: (typeof NM_FORMS)[number];
  /**
   * The engine DEQ (ρ = 1) solves on (--deq-engine). Default: `'host'` under v3, the faster
   * one at ρ = 1; `'tensor'` under v1, v2 and paper, which `engine: 'auto'` picked at
   * density 1 when their stores ran (so resumed runs train what the stores hold). A host
   * DEQ's key says so; `--deq-engine tensor` selects v3's DEQ trials stored before.
   */
  deqEngine: (typeof DEQ_ENGINES)[number];
  /** The v4 paper's Table 2 protocol: every dataset turned into a binary task (bench/uci/data.ts `toBinary`). */
  binary: boolean;
  /** Only rebuild the report from the stored runs; train nothing. */
  reportOnly: boolean;
  /** Print the planned grid and exit. */
  dryRun: boolean;
  /** Print an estimate of the grid's wall time from the trials stored in --out, and exit. */
  estimate: boolean;
  /** Directories of further trial stores whose timings the estimate uses (--timing-from), besides --out. Default: none. */
  timingFrom?: string[];
  /** Print the module summary table of the stored runs (markdown) and exit; writes nothing (--module-summary). Default: false. */
  moduleSummary?: boolean;
  /** Rerun the selected trainings of every complete (dataset, p, seed) cell for same-window times per epoch (--retime, bench/uci/retime.ts). Default: false. */
  retime?: boolean;
  /** Fold trials.jsonl and retime.jsonl of --out into their .gz files and exit; trains nothing (--compact, TrialStore.compact). Default: false. */
  compact?: boolean;
  /** Bring your own data (--csv ...; bench/uci/custom_data.ts): the user CSV that replaces --datasets, or null. */
  custom?: CustomDataSpec | null;
}

/** A user dataset (--csv, --label, --name, --drop-columns, --splits / --split-column); docs/DATASETS.md. */
export interface CustomDataSpec {
  /** Absolute path of the CSV file. */
  csv: string;
  /** The label column's name. */
  label: string;
  /** Dataset name in trial keys, tables and file names: --name, or the file's base name. */
  name: string;
  /** Columns left out of the features (id or text columns). */
  dropColumns: string[];
  /** Absolute path of a predefined split (JSON), or null. */
  splits: string | null;
  /** Column of the CSV holding train/val/test per row, or null. */
  splitColumn: string | null;
}

/** Safe dataset names (--name): they end up in trial keys (`|`-separated) and in file names. */
export const SAFE_NAME = /^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$/;

/** A usage error (bad flag or value); the CLI prints its message and exits with 2. */
export class BenchConfigError extends Error {
  override name = 'BenchConfigError';
}

interface FlagSpec {
  help: string;
  boolean?: boolean;
}

export const FLAGS: Record<string, FlagSpec> = {
  datasets: { help: `comma-separated dataset names (CSV files in --data); default ${DEFAULT_DATASETS.join(',')}` },
  data: { help: 'directory of the dataset CSVs; default ../shared/datasets relative to the package root' },
  csv: { help: 'bring your own data: one CSV file with a header row (replaces --datasets; docs/DATASETS.md)' },
  label: { help: 'with --csv: the name of the label column (anywhere in the row)' },
  name: { help: "with --csv: the dataset name in keys, tables and plots (letters, digits, _ and -); default the file's base name" },
  'drop-columns': { help: 'with --csv: comma-separated columns that are not features (ids, text)' },
  splits: { help: 'with --csv: predefined split, a JSON file {"train":[...],"val":[...],"test":[...]} of 0-based data-row indices' },
  'split-column': { help: 'with --csv: predefined split, the column holding train, val or test per row' },
  nodes: { help: `comma-separated hidden node counts; default ${DEFAULT_NODES.join(',')} (v3: ${V3_NODES.join(',')})` },
  methods: { help: `comma-separated methods among ${METHOD_NAMES.join(',')}; default ${DEFAULT_METHODS.join(',')} (v3: ${V3_METHODS.join(',')})` },
  protocol: { help: `tuning/training protocol (${PROTOCOLS.join(', ')}); default v2 (see bench/uci/README.md)` },
  workers: { help: 'training processes at once, one per core; default 1' },
  seeds: { help: `number of seeds (splits) N, seeds 1..N; default 5 (v3: ${V3_SEEDS})` },
  epochs: { help: 'maximum epochs per training, with early stopping on validation loss; default 200 (v2), 150 (paper), 60 (v1)' },
  patience: { help: 'early-stopping patience in epochs; default 10 (v2), 20 (paper), 6 (v1)' },
  budget: { help: `tuning configurations per method: 1..${MAX_BUDGET} (v2, paper), 1..${V3_GRID_SIZE} (v3) or ${BUDGETS.join(', ')} (v1); default 4` },
  'batch-size': { help: 'mini-batch size; default 64' },
  out: { help: 'output directory (trials.jsonl; trials.jsonl.gz is read too); default out/uci (relative to the working directory)' },
  tables: { help: 'directory of results.json, tables.md and plots/; default: --out' },
  backend: { help: `tfjs backend (${BACKENDS.join(', ')}); default wasm` },
  'max-train': { help: 'cap on training samples (stratified subsample); default: all' },
  'nm-form': { help: `form of the NM regularizer (${NM_FORMS.join(', ')}); default repulsion` },
  'deq-engine': { help: `engine of the DEQ layer (${DEQ_ENGINES.join(', ')}); default host (v3), tensor (v1, v2, paper: as their stores ran)` },
  binary: { help: 'binary tasks (v4 Table 2): classes of the first half of the sorted labels vs. the rest, for every method', boolean: true },
  'report-only': { help: 'rebuild results.json, tables and plots from the stored runs, train nothing', boolean: true },
  'dry-run': { help: 'print the planned grid and exit', boolean: true },
  estimate: { help: "estimate the grid's wall time from the trials stored in --out (and --timing-from), train nothing", boolean: true },
  'timing-from': { help: 'with --estimate: comma-separated directories of further trial stores whose timings are used too' },
  'module-summary': {
    help: 'print the module summary table (largest module, acyclic runs per method and p) of the stored runs; writes nothing',
    boolean: true,
  },
  retime: {
    help: "rerun the selected trainings of each complete (dataset, p, seed) cell of --seeds back to back, for the speed rows' same-window times (retime.jsonl)",
    boolean: true,
  },
  compact: {
    help: 'fold trials.jsonl and retime.jsonl of --out into trials.jsonl.gz and retime.jsonl.gz (written whole, then renamed), train nothing; not while a grid writes to --out',
    boolean: true,
  },
  help: { help: 'print this help', boolean: true },
};

export function usage(): string {
  const lines = Object.entries(FLAGS).map(([k, s]) => `  --${k.padEnd(12)} ${s.help}`);
  return ['usage: npm run bench:uci -- [uci] [flags]', '', ...lines].join('\n');
}

const list = (v: string) =>
  v
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s.length > 0);

function int(flag: string, v: string, min: number): number {
  const n = Number(v);
  if (!/^\d+$/.test(v.trim()) || !Number.isInteger(n) || n < min) {
    throw new BenchConfigError(`--${flag}: expected an integer >= ${min}; received '${v}'.`);
  }
  return n;
}

function oneOf<T extends string>(flag: string, v: string, valid: readonly T[]): T {
  const hit = valid.find((x) => x.toLowerCase() === v.trim().toLowerCase());
  if (!hit) throw new BenchConfigError(`--${flag}: unknown value '${v}'; valid values: ${valid.join(', ')}.`);
  return hit;
}

/** Splits argv into flag → value (a `--flag value` or `--flag=value` form). */
function readFlags(argv: string[]): Map<string, string> {
  const args = argv[0] === 'uci' ? argv.slice(1) : argv;
  const flags = new Map<string, string>();
  for (let i = 0; i < args.length; i++) {
    const a = args[i];
    if (!a.startsWith('--')) {
      throw new BenchConfigError(
        `unexpected argument '${a}'; flags start with --. Valid flags: ${Object.keys(FLAGS)
          .map((k) => `--${k}`)
          .join(', ')}.`,
      );
    }
    const eq = a.indexOf('=');
    const name = eq >= 0 ? a.slice(2, eq) : a.slice(2);
    const spec = FLAGS[name];
    if (!spec)
      throw new BenchConfigError(
        `unknown flag --${name}; valid flags: ${Object.keys(FLAGS)
          .map((k) => `--${k}`)
          .join(', ')}.`,
      );
    if (flags.has(name)) throw new BenchConfigError(`--${name} is given twice.`);
    if (spec.boolean) {
      if (eq >= 0) throw new BenchConfigError(`--${name} takes no value.`);
      flags.set(name, 'true');
    } else if (eq >= 0) {
      flags.set(name, a.slice(eq + 1));
    } else {
      const v = args[i + 1];
      if (v === undefined || v.startsWith('--')) throw new BenchConfigError(`--${name} needs a value (${spec.help}).`);
      flags.set(name, v);
      i++;
    }
  }
  return flags;
}

/** The dataset names available in a directory (its *.csv files). */
export function availableDatasets(dir: string): string[] {
  return readdirSync(dir)
    .filter((f) => f.endsWith('.csv'))
    .map((f) => f.slice(0, -4))
    .sort();
}

/** Checks the data directory and the dataset names (needs the file system). */
export function checkData(dataDir: string, datasets: string[]): void {
  if (!existsSync(dataDir) || !statSync(dataDir).isDirectory()) {
    throw new BenchConfigError(`--data: the dataset directory '${dataDir}' does not exist. Give the directory of the UCI CSVs with --data DIR.`);
  }
  const have = availableDatasets(dataDir);
  for (const d of datasets) {
    if (!have.includes(d)) {
      throw new BenchConfigError(
        `--datasets: unknown dataset '${d}' (no ${d}.csv in '${dataDir}'); valid values: ${have.join(', ') || '(no CSV files there)'}.`,
      );
    }
  }
}

/** Parses the command line (without `node` and the script) into a config. Returns null for --help. */
export function parseArgs(argv: string[], cwd = process.cwd()): BenchConfig | null {
  const f = readFlags(argv);
  if (f.has('help')) return null;
  const protocol = oneOf('protocol', f.get('protocol') ?? 'v2', PROTOCOLS);
  const v3 = protocol === 'v3';
  const nodes = f.has('nodes') ? list(f.get('nodes')!).map((v) => int('nodes', v, 1)) : v3 ? V3_NODES : DEFAULT_NODES;
  if (nodes.length === 0) throw new BenchConfigError('--nodes: expected at least one node count, e.g. 40,100,300.');
  const methods = f.has('methods') ? list(f.get('methods')!).map((v) => oneOf('methods', v, METHOD_NAMES)) : [...(v3 ? V3_METHODS : DEFAULT_METHODS)];
  if (methods.length === 0) throw new BenchConfigError(`--methods: expected at least one of ${METHOD_NAMES.join(', ')}.`);
  const datasets = f.has('datasets') ? list(f.get('datasets')!) : DEFAULT_DATASETS;
  if (datasets.length === 0) throw new BenchConfigError('--datasets: expected at least one dataset name.');
  const defaults = PROTOCOL_DEFAULTS[protocol];
  const budget = int('budget', f.get('budget') ?? String(defaults.budget), 1);
  if (protocol === 'v1' && !BUDGETS.some((b) => b === budget)) {
    throw new BenchConfigError(`--budget: unknown value '${budget}' for --protocol v1; valid values: ${BUDGETS.join(', ')}.`);
  }
  const maxBudget = v3 ? V3_GRID_SIZE : MAX_BUDGET;
  if (budget > maxBudget)
    throw new BenchConfigError(`--budget: expected an integer from 1 to ${maxBudget}${v3 ? ' (the size of every v3 grid)' : ''}; received '${budget}'.`);
  if (!v3 && methods.some((m) => m === 'NM-default' || m === 'NM-recipe')) {
    throw new BenchConfigError(`--methods: NM-default and NM-recipe are arms of --protocol v3; received --protocol ${protocol}.`);
  }
  const workers = int('workers', f.get('workers') ?? '1', 1);
  if (workers > 16) throw new BenchConfigError(`--workers: expected an integer from 1 to 16 (one per core); received '${workers}'.`);
  const dedupe = <T>(xs: T[]) => Array.from(new Set(xs));
  return {
    datasets: dedupe(datasets),
    dataDir: f.has('data') ? resolve(cwd, f.get('data')!) : resolve(PACKAGE_ROOT, '..', 'shared', 'datasets'),
    nodes: dedupe(nodes).sort((a, b) => a - b),
    methods: METHOD_NAMES.filter((m) => methods.includes(m)),
    seeds: Array.from({ length: int('seeds', f.get('seeds') ?? String(v3 ? V3_SEEDS : 5), 1) }, (_, i) => i + 1),
    epochs: int('epochs', f.get('epochs') ?? String(defaults.epochs), 1),
    patience: int('patience', f.get('patience') ?? String(defaults.patience), 1),
    budget,
    protocol,
    workers,
    batchSize: int('batch-size', f.get('batch-size') ?? '64', 1),
    out: resolve(cwd, f.get('out') ?? 'out/uci'),
    tables: f.has('tables') ? resolve(cwd, f.get('tables')!) : null,
    backend: oneOf('backend', f.get('backend') ?? 'wasm', BACKENDS),
    maxTrain: f.has('max-train') ? int('max-train', f.get('max-train')!, 2) : null,
    nmForm: oneOf('nm-form', f.get('nm-form') ?? 'repulsion', NM_FORMS),
    deqEngine: oneOf('deq-engine', f.get('deq-engine') ?? (v3 ? 'host' : 'tensor'), DEQ_ENGINES),
    binary: f.has('binary'),
    reportOnly: f.has('report-only'),
    dryRun: f.has('dry-run'),
    estimate: f.has('estimate'),
    timingFrom: f.has('timing-from') ? list(f.get('timing-from')!).map((d) => resolve(cwd, d)) : [],
    moduleSummary: f.has('module-summary'),
    retime: f.has('retime'),
    compact: f.has('compact'),
    ...customFlags(f, cwd),
  };
}

/** The --csv flags (bring your own data): the spec, and the dataset list it replaces. File contents are checked by bench/uci/custom_data.ts. */
function customFlags(f: Map<string, string>, cwd: string): Pick<BenchConfig, 'custom'> & Partial<Pick<BenchConfig, 'datasets'>> {
  const withCsv = ['label', 'name', 'drop-columns', 'splits', 'split-column'];
  if (!f.has('csv')) {
    const stray = withCsv.find((k) => f.has(k));
    if (stray) throw new BenchConfigError(`--${stray} needs --csv FILE (bring your own data).`);
    return { custom: null };
  }
  for (const k of ['datasets', 'data']) {
    if (f.has(k))
      throw new BenchConfigError(`--csv replaces --datasets and --data; give either --csv FILE --label COLUMN or --datasets (and --data), not both.`);
  }
  const csv = resolve(cwd, f.get('csv')!);
  if (!f.has('label')) throw new BenchConfigError(`--csv: '${csv}' needs --label COLUMN, the name of its label column.`);
  if (f.has('splits') && f.has('split-column')) throw new BenchConfigError('--splits and --split-column are two forms of a predefined split; give one.');
  const name = f.get('name') ?? basename(csv, extname(csv));
  if (!SAFE_NAME.test(name)) {
    throw new BenchConfigError(
      f.has('name')
        ? `--name: '${name}' is not a safe dataset name; use 1-64 letters, digits, _ or - (starting with a letter or digit).`
        : `--csv: the file name gives the dataset name '${name}', which is not safe (1-64 letters, digits, _ or -); give one with --name NAME.`,
    );
  }
  const spec: CustomDataSpec = {
    csv,
    label: f.get('label')!.trim(),
    name,
    dropColumns: f.has('drop-columns') ? list(f.get('drop-columns')!) : [],
    splits: f.has('splits') ? resolve(cwd, f.get('splits')!) : null,
    splitColumn: f.has('split-column') ? f.get('split-column')!.trim() : null,
  };
  return { custom: spec, datasets: [name] };
}
