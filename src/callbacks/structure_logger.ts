/**
 * Logs the module structure of every NeuralModule layer during `model.fit` (also those
 * inside nested models and wrappers such as `tf.layers.timeDistributed`): per-epoch
 * statistics into the epoch logs (so `history.history`), and, when `dir` is given,
 * pictures of the structure (the papers' Figures 5–7; neural-modules-v3 §4.3).
 *
 * History keys (suffix `_i` when the model has several NeuralModule layers, i as in
 * `modulePartition`):
 * - `nm_modules` module count, `nm_largest` largest module, `nm_cyclic` modules of ≥ 2 nodes;
 * - `nm_balance` = largest / mean module size (1 = balanced), `nm_gini` = Gini
 *   coefficient of the sizes (0 = balanced); see `nm.analysis.moduleStats`;
 * - `nm_edges` kept edges, `nm_gamma` the mask threshold γ;
 * - `nm_fwd_iters`, `nm_bwd_iters`: mean solver iterations per call over the epoch.
 *
 * Pictures (when `dir` is set; Node only), per layer `<name>`:
 * `<name>_epoch000.{svg,png}` before training, `<name>_epochNNN.{svg,png}` for each
 * logged epoch, and at the end of training `<name>_first_vs_last.{svg,png}`: the
 * structure before the first epoch next to the structure after the last one.
 *
 * When to use: to watch a regularizer organise the graph. List it after
 * `modulePartition` so it reports the partition of the epoch that just ended (the
 * shared keys `nm_modules`, `nm_largest`, `nm_*_iters` then agree).
 *
 * Caveats: it does not re-partition by itself. It reads the solve counters without
 * resetting them (it remembers them at epoch begin), so it can be used with or
 * without `modulePartition`.
 *
 * @example
 * const logger = nm.callbacks.structureLogger({ dir: 'out/pictures', every: 5 });
 * const h = await model.fit(x, y, { epochs: 20, callbacks: [nm.callbacks.modulePartition(), logger] });
 * h.history.nm_balance; // one value per logged epoch
 */
import { moduleStats, type ModuleStats } from '../analysis/module_stats.js';
import { renderStructure, renderStructureSideBySide } from '../analysis/render_structure.js';
import { renderStructurePng, renderStructurePngSideBySide } from '../analysis/render_structure_png.js';
import { structureSnapshot, type RenderStructureOptions, type StructureSnapshot } from '../analysis/structure_layout.js';
import type { NeuralModuleLayer, SolveCounters } from '../layers/neural_module/layer.js';
import { checkInt, checkKeys, fail } from '../utils/errors.js';
import { nodeHost } from '../platform/host.js';
import { NMCallback } from './nm_callback.js';

type Logs = Record<string, unknown>;

export const PICTURE_FORMATS = ['svg', 'png'] as const;
export type PictureFormat = (typeof PICTURE_FORMATS)[number];

/** Arguments of {@link structureLogger}. */
export interface StructureLoggerArgs {
  /** Directory for the pictures (created if missing). Default: none (no pictures). */
  dir?: string;
  /** Log every N epochs (integer ≥ 1); the last epoch is always logged. Default: 1. */
  every?: number;
  /** Picture formats written to `dir`. Default: `['svg', 'png']`. */
  formats?: PictureFormat[];
  /** Options of the pictures (see `renderStructure`). Default: `{}`. */
  render?: RenderStructureOptions;
  /** Print one line per logged epoch. Default: false. */
  verbose?: boolean;
}

/** One logged epoch of one layer. */
export interface StructureRecord extends ModuleStats {
  /** 1-based epoch; 0 = before training. */
  epoch: number;
  layer: string;
  edges: number;
  gamma: number;
  fwdIters: number;
  bwdIters: number;
}

const WHERE = 'structureLogger';

/** The structure logging callback (see {@link structureLogger}). */
export class StructureLoggerCallback extends NMCallback {
  protected readonly where = 'structureLogger';
  readonly dir: string | null;
  readonly every: number;
  readonly formats: PictureFormat[];
  readonly render: RenderStructureOptions;
  readonly verbose: boolean;
  /** Every logged epoch of every layer, in order. */
  readonly records: StructureRecord[] = [];
  private first = new Map<NeuralModuleLayer, StructureSnapshot>();
  private baseline = new Map<NeuralModuleLayer, { obj: SolveCounters; values: SolveCounters }>();
  private lastEpoch = 0;

  constructor(args: StructureLoggerArgs = {}) {
    super();
    if (args == null || typeof args !== 'object') fail(WHERE, 'args', args, 'an object { dir?, every?, formats?, render?, verbose? }');
    checkKeys(WHERE, args, ['dir', 'every', 'formats', 'render', 'verbose']);
    if (args.dir != null && (typeof args.dir !== 'string' || args.dir.length === 0)) fail(WHERE, 'dir', args.dir, 'a non-empty directory path');
    this.dir = args.dir ?? null;
    this.every = checkInt(WHERE, 'every', args.every ?? 1, 1);
    const formats = args.formats ?? ['svg', 'png'];
    if (!Array.isArray(formats) || formats.some((f) => !(PICTURE_FORMATS as readonly string[]).includes(f))) {
      fail(WHERE, 'formats', formats, "an array of 'svg' and/or 'png'");
    }
    this.formats = formats.slice();
    if (args.render != null && typeof args.render !== 'object') fail(WHERE, 'render', args.render, 'an object of renderStructure options');
    this.render = { ...(args.render ?? {}) };
    this.verbose = args.verbose ?? false;
    if (typeof this.verbose !== 'boolean') fail(WHERE, 'verbose', this.verbose, 'a boolean');
  }

  /** The resolved arguments (`dir` null: no pictures): `new StructureLoggerCallback(cb.getConfig())` is equivalent. */
  getConfig(): Omit<Required<StructureLoggerArgs>, 'dir'> & { dir: string | null } {
    return { dir: this.dir, every: this.every, formats: this.formats.slice(), render: { ...this.render }, verbose: this.verbose };
  }

  override async onTrainBegin(): Promise<void> {
    this.first.clear();
    const layers = this.neuralModules();
    if (this.dir == null) return;
    const fs = nodeHost('nm.callbacks.structureLogger({ dir })').fsp;
    await fs.mkdir(this.dir, { recursive: true });
    for (const layer of layers) {
      const snap = structureSnapshot(layer, 'before training');
      this.first.set(layer, snap);
      await this.write(`${fileStem(layer.name)}_epoch000`, [snap]);
    }
  }

  override async onEpochBegin(): Promise<void> {
    for (const layer of this.neuralModules()) this.baseline.set(layer, { obj: layer.counters, values: { ...layer.counters } });
  }

  override async onEpochEnd(epoch: number, logs?: Logs): Promise<void> {
    this.lastEpoch = epoch + 1;
    const total = typeof this.params?.epochs === 'number' ? this.params.epochs : Infinity;
    if ((epoch + 1) % this.every !== 0 && epoch + 1 !== total) return;
    const layers = this.neuralModules();
    for (let i = 0; i < layers.length; i++) {
      const layer = layers[i];
      const suffix = layers.length > 1 ? `_${i}` : '';
      const s = layer.structure();
      const st = moduleStats(s.moduleSizes);
      const it = this.epochIterations(layer);
      const record: StructureRecord = { epoch: epoch + 1, layer: layer.name, ...st, edges: s.edges, gamma: s.gamma, ...it };
      this.records.push(record);
      if (logs) {
        Object.assign(logs, {
          [`nm_modules${suffix}`]: st.modules,
          [`nm_largest${suffix}`]: st.largest,
          [`nm_cyclic${suffix}`]: st.cyclicModules,
          [`nm_balance${suffix}`]: st.balance,
          [`nm_gini${suffix}`]: st.gini,
          [`nm_edges${suffix}`]: s.edges,
          [`nm_gamma${suffix}`]: s.gamma,
          [`nm_fwd_iters${suffix}`]: it.fwdIters,
          [`nm_bwd_iters${suffix}`]: it.bwdIters,
        });
      }
      if (this.verbose) {
        console.log(
          `epoch ${epoch + 1} ${layer.name}: ${st.modules} modules (${st.cyclicModules} with ≥2 nodes), largest ${st.largest}, ` +
            `balance ${st.balance.toFixed(2)}, gini ${st.gini.toFixed(3)}, edges ${s.edges}, γ ${s.gamma.toExponential(2)}, ` +
            `iterations fwd ${it.fwdIters.toFixed(1)} bwd ${it.bwdIters.toFixed(1)}`,
        );
      }
      if (this.dir != null)
        await this.write(`${fileStem(layer.name)}_epoch${String(epoch + 1).padStart(3, '0')}`, [structureSnapshot(layer, `epoch ${epoch + 1}`)]);
    }
  }

  override async onTrainEnd(): Promise<void> {
    if (this.dir == null) return;
    for (const layer of this.neuralModules()) {
      const first = this.first.get(layer);
      if (first == null) continue;
      await this.write(`${fileStem(layer.name)}_first_vs_last`, [first, structureSnapshot(layer, `epoch ${this.lastEpoch}`)]);
    }
  }

  /** Mean iterations per solve call since this epoch began (robust to counter resets by other callbacks). */
  private epochIterations(layer: NeuralModuleLayer): { fwdIters: number; bwdIters: number } {
    const c = layer.counters;
    const b = this.baseline.get(layer);
    // resetCounters() replaces the object: a different object means it was reset this epoch.
    const base = b != null && b.obj === c ? b.values : { forwardCalls: 0, forwardIterations: 0, backwardCalls: 0, backwardIterations: 0 };
    const fc = c.forwardCalls - base.forwardCalls;
    const bc = c.backwardCalls - base.backwardCalls;
    return {
      fwdIters: fc > 0 ? (c.forwardIterations - base.forwardIterations) / fc : 0,
      bwdIters: bc > 0 ? (c.backwardIterations - base.backwardIterations) / bc : 0,
    };
  }

  private async write(stem: string, snaps: StructureSnapshot[]): Promise<void> {
    const { fsp: fs, path } = nodeHost('nm.callbacks.structureLogger({ dir })');
    const file = (ext: string) => path.join(this.dir!, `${stem}.${ext}`);
    if (this.formats.includes('svg')) {
      const svg = snaps.length === 1 ? renderStructure(snaps[0], this.render) : renderStructureSideBySide(snaps, this.render);
      await fs.writeFile(file('svg'), svg);
    }
    if (this.formats.includes('png')) {
      const png = snaps.length === 1 ? await renderStructurePng(snaps[0], this.render) : await renderStructurePngSideBySide(snaps, this.render);
      await fs.writeFile(file('png'), png);
    }
  }
}

function fileStem(name: string): string {
  return name.replace(/[^\w.-]+/g, '_');
}

/** Creates a {@link StructureLoggerCallback}. */
export function structureLogger(args: StructureLoggerArgs = {}): StructureLoggerCallback {
  return new StructureLoggerCallback(args);
}
