/**
 * The append-only record of finished trials (`trials.jsonl` in the output
 * directory), which makes the benchmark resumable: one JSON line per finished
 * trial, written and fsynced when the trial ends. A trial interrupted before its
 * line is complete is not in the file (a torn last line is ignored) and is redone.
 *
 * A store kept in the repository may be gzipped (`trials.jsonl.gz`, bench/results/): its
 * trials are read first, then those of `trials.jsonl` when present, and new trials are
 * appended to `trials.jsonl` (a later line with the same key replaces an earlier one).
 * {@link TrialStore.compact} (`--compact`) folds the plain file into the gzipped one.
 */
import { closeSync, existsSync, fsyncSync, mkdirSync, openSync, readFileSync, renameSync, statSync, truncateSync, unlinkSync, writeSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { gunzipSync, gzipSync } from 'node:zlib';
import type { BenchConfig, MethodName } from './config.js';
import { customKeyTag } from './custom_data.js';
import { definitionTag, FIXED_SETTINGS_VERSION, type FixedMethod } from './fixed_settings.js';
import type { MethodConfig } from './methods.js';
import type { TrialOutcome } from './train.js';

/** One planned trial: its grid coordinates, configuration and key. */
export interface PlannedTrial {
  dataset: string;
  method: MethodName;
  nodes: number;
  seed: number;
  configIndex: number;
  config: MethodConfig;
  key: string;
}

/** The settings a stored trial must share with the current invocation to count as done. */
export interface TrialSettings {
  epochs: number;
  patience: number;
  batchSize: number;
  maxTrain: number | null;
  backend: string;
  nmForm: string;
  /** Present (true) only for --binary runs, so the keys of multi-class trials are unchanged. */
  binary?: true;
  /** The protocol, present for v2, paper and v3 (absent: v1, whose keys are unchanged). */
  protocol?: 'v2' | 'paper' | 'v3';
  /** Present only for --csv runs (bring your own data): label, dropped columns and split of the user dataset (custom_data.ts `customKeyTag`). */
  data?: string;
  /** Present ('host') only when DEQ runs on the host engine (--deq-engine), so the keys of tensor-engine DEQ trials are unchanged. */
  deqEngine?: 'host';
}

/** Where a trial's numbers came from. */
export interface Provenance {
  /** `git rev-parse --short HEAD` of the package, with `+dirty` when src/ or bench/ had uncommitted changes; 'unknown' outside a checkout. */
  commit: string;
  /** Whether src/ or bench/ (bench/results/ aside) had uncommitted changes (the `+dirty` of {@link commit}); absent in trials stored before it was recorded. */
  dirty?: boolean;
  /** The package's version (package.json). */
  packageVersion: string;
  /** The tfjs version and the backend that ran the trial. */
  tfjsVersion: string;
  backend: string;
  /** Node's version. */
  node: string;
}

/** One finished trial (one configuration of one run), as stored. */
export interface TrialRecord extends TrialOutcome, PlannedTrial {
  settings: TrialSettings;
  samples: { train: number; val: number; test: number };
  /** Wall time of the whole trial (build, fit, evaluation), seconds. */
  wallSeconds: number;
  finishedAt: string;
  /** Absent in trials stored before the harness recorded provenance (protocol v1). */
  provenance?: Provenance;
}

export const TRIALS_FILE = 'trials.jsonl';
/** The gzipped form of {@link TRIALS_FILE}, read before it. */
export const TRIALS_FILE_GZ = `${TRIALS_FILE}.gz`;

export function trialSettings(cfg: BenchConfig): TrialSettings {
  return {
    epochs: cfg.epochs,
    patience: cfg.patience,
    batchSize: cfg.batchSize,
    maxTrain: cfg.maxTrain,
    backend: cfg.backend,
    nmForm: cfg.nmForm,
    ...(cfg.binary ? { binary: true as const } : {}),
    ...(cfg.protocol !== 'v1' ? { protocol: cfg.protocol } : {}),
    ...(cfg.custom ? { data: customKeyTag(cfg.custom) } : {}),
    ...(cfg.deqEngine === 'host' ? { deqEngine: 'host' as const } : {}),
  };
}

/** The identity of a trial: its grid coordinates, its configuration and the settings that change its result. */
export function trialKey(
  t: { dataset: string; method: string; nodes: number; seed: number; config: MethodConfig; settings: TrialSettings },
  versions: Readonly<Record<FixedMethod, number>> = FIXED_SETTINGS_VERSION,
): string {
  const s = t.settings;
  const c = t.config;
  const def = definitionTag(t.method, t.nodes, versions);
  // A host-engine DEQ names its engine: DEQ trials stored before ran on the tensor engine.
  const engine = t.method === 'DEQ' && s.deqEngine === 'host' ? 'host' : '';
  return [
    t.dataset,
    t.method,
    ...(def ? [def] : []),
    ...(engine ? [engine] : []),
    `p${t.nodes}`,
    `s${t.seed}`,
    `lr${c.lr}`,
    `rho${c.density ?? '-'}`,
    `l1${c.l1 ?? '-'}`,
    `a${c.alpha ?? '-'}`,
    ...(c.momentum != null ? [`m${c.momentum}`] : []),
    ...(c.contractive != null ? [c.contractive ? 'c1' : 'c0'] : []),
    `e${s.epochs}`,
    `pat${s.patience}`,
    `b${s.batchSize}`,
    `mt${s.maxTrain ?? 'all'}`,
    s.backend,
    s.nmForm,
    ...(s.binary ? ['binary'] : []),
    ...(s.protocol ? [s.protocol] : []),
    ...(s.data ? [s.data] : []),
  ].join('|');
}

export class TrialStore {
  readonly path: string;
  private readonly byKey = new Map<string, TrialRecord>();
  /** Lines that could not be parsed when loading (a torn last line after a crash). */
  readonly skippedLines: number;
  /** Bytes of the plain file when it was loaded (0 when absent), so {@link compact} sees a later append. */
  private plainBytes = 0;

  /**
   * @param outDir the store's directory
   * @param file the file name; default {@link TRIALS_FILE} (the grid). `file + '.gz'` is read first when present.
   */
  constructor(outDir: string, file: string = TRIALS_FILE) {
    mkdirSync(outDir, { recursive: true });
    this.path = join(outDir, file);
    let skipped = 0;
    const load = (text: string) => {
      for (const line of text.split('\n').slice(0, text.endsWith('\n') ? undefined : -1)) {
        if (line.trim() === '') continue;
        try {
          const r = JSON.parse(line) as TrialRecord;
          if (typeof r.key === 'string') this.byKey.set(r.key, r);
          else skipped++;
        } catch {
          skipped++;
        }
      }
      if (text.length > 0 && !text.endsWith('\n')) skipped++;
    };
    const gz = `${this.path}.gz`;
    if (existsSync(gz)) load(gunzipSync(readFileSync(gz)).toString('utf8'));
    if (existsSync(this.path)) {
      const text = readFileSync(this.path, 'utf8');
      // A torn last line (crash mid-write): cut it off so the next append starts a fresh line.
      if (text.length > 0 && !text.endsWith('\n')) truncateSync(this.path, Buffer.byteLength(text.slice(0, text.lastIndexOf('\n') + 1)));
      load(text);
      this.plainBytes = statSync(this.path).size;
    }
    this.skippedLines = skipped;
  }

  /**
   * Folds the plain file into the gzipped one: every record of both (a later line with
   * the same key replacing an earlier one, as when loading) is written to `<file>.gz`
   * through a temporary file, fsynced and renamed over it, and only then is the plain
   * file removed. Should the plain file have grown since this store was loaded (a grid
   * appending to the same directory), it is left as it is: its records are in both
   * files, which is harmless, as loading keys them. Returns the records in the gzipped
   * file, the lines read from the plain one (0: nothing to fold, nothing written) and
   * whether the plain file was kept.
   */
  compact(): { records: number; folded: number; plainKept: boolean } {
    if (!existsSync(this.path)) return { records: this.byKey.size, folded: 0, plainKept: false };
    const folded = readFileSync(this.path, 'utf8')
      .split('\n')
      .filter((l) => l.trim() !== '').length;
    if (folded > 0) {
      const gz = `${this.path}.gz`;
      const tmp = join(dirname(gz), `.${basename(gz)}.tmp-${process.pid}`);
      const body = gzipSync(
        Buffer.from(
          this.all()
            .map((r) => `${JSON.stringify(r)}\n`)
            .join(''),
        ),
        { level: 9 },
      );
      const fd = openSync(tmp, 'w');
      try {
        writeSync(fd, body);
        fsyncSync(fd);
      } finally {
        closeSync(fd);
      }
      renameSync(tmp, gz);
      const dir = openSync(dirname(gz), 'r');
      try {
        fsyncSync(dir);
      } finally {
        closeSync(dir);
      }
    }
    const plainKept = statSync(this.path).size !== this.plainBytes;
    if (!plainKept) unlinkSync(this.path);
    return { records: this.byKey.size, folded, plainKept };
  }

  has(key: string): boolean {
    return this.byKey.has(key);
  }

  get(key: string): TrialRecord | undefined {
    return this.byKey.get(key);
  }

  all(): TrialRecord[] {
    return Array.from(this.byKey.values());
  }

  /** Appends a finished trial and flushes it to disk. */
  append(record: TrialRecord): void {
    const fd = openSync(this.path, 'a');
    try {
      writeSync(fd, `${JSON.stringify(record)}\n`);
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
    this.byKey.set(record.key, record);
  }
}
