/**
 * The picture of a Neural Module graph shared by the SVG and PNG renderers: the
 * adjacency matrix with nodes ordered by module (modules in topological order of the
 * condensation), kept edges as dark cells, and one square per module on the diagonal
 * (the papers' Figures 5–7, "each black square denoting a neural module";
 * neural-modules-v3 §4.3, neural-modules-v4 App. G.3).
 *
 * Row = source node j, column = target node k (the edge W[j,k]). Because modules are
 * in topological order, every kept edge lies inside a module's square or above the
 * diagonal: the picture is block upper triangular.
 *
 * When to use: through `renderStructure` / `renderStructurePng`; this file only holds
 * the snapshot and the geometry.
 */
import type { NeuralModuleLayer } from '../layers/neural_module/layer.js';
import { checkInt, checkKeys, fail } from '../utils/errors.js';

/** Everything a picture needs, copied from a layer at one moment (safe to keep). */
export interface StructureSnapshot {
  /** Layer name. */
  name: string;
  /** Caption, e.g. `'epoch 3'`. */
  label: string;
  p: number;
  /** Node ids per module, modules in topological order (as `structure().modules`). */
  modules: number[][];
  /** Module index → condensation level. */
  levelOf: number[];
  /** 1 where edge j→k is kept (row-major p×p). */
  mask: Uint8Array;
  /** Graph weights W (row-major p×p). */
  weights: Float32Array;
  edges: number;
  gamma: number;
}

/** Copies what a picture needs from a built NeuralModule layer (a ConfigError for anything else, or a non-string label). */
export function structureSnapshot(layer: NeuralModuleLayer, label = ''): StructureSnapshot {
  const where = 'structureSnapshot';
  const l = layer as Partial<NeuralModuleLayer> | null;
  if (l == null || typeof l !== 'object' || typeof l.structure !== 'function' || typeof l.edges !== 'function' || typeof l.graphValues !== 'function') {
    fail(
      where,
      'layer',
      l == null || typeof l !== 'object' ? l : `an object of class ${l.constructor?.name ?? 'Object'}`,
      'a built NeuralModule layer (nm.layers.neuralModule)',
    );
  }
  if (typeof label !== 'string') fail(where, 'label', label, "a string, e.g. 'epoch 3'");
  const s = layer.structure();
  const levelOf = new Array<number>(s.modules.length).fill(0);
  s.levels.forEach((ids, lv) => ids.forEach((i) => (levelOf[i] = lv)));
  return {
    name: layer.name,
    label,
    p: layer.options.units,
    modules: s.modules,
    levelOf,
    mask: layer.edges().mask.slice(),
    weights: layer.graphValues(),
    edges: s.edges,
    gamma: s.gamma,
  };
}

/** Options of the structure pictures. */
export interface RenderStructureOptions {
  /** Largest number of cells per side; with more nodes, consecutive nodes share a cell (darkest edge shown). Default: 600. */
  maxCells?: number;
  /** Pixels per cell. Default: `max(1, floor(600 / cells))` (a picture of about 600 px). */
  cellSize?: number;
  /** Caption above the matrix (SVG only). Default: `'<layer> <label>: M modules, largest L, E edges'`. */
  title?: string;
  /** Visible labels (`M3`) on modules of at least this many nodes; every module has a `<title>` regardless (SVG only). Default: 2. */
  labelMinSize?: number;
}

/** Resolved options. */
export interface ResolvedRenderOptions {
  maxCells: number;
  cellSize: number | null;
  title: string | null;
  labelMinSize: number;
}

/** Validates picture options once. */
export function resolveRenderOptions(where: string, opts: RenderStructureOptions | undefined): ResolvedRenderOptions {
  const o = opts ?? {};
  if (typeof o !== 'object') fail(where, 'opts', o, 'an object { maxCells?, cellSize?, title?, labelMinSize? }');
  checkKeys(where, o, ['maxCells', 'cellSize', 'title', 'labelMinSize']);
  if (o.title != null && typeof o.title !== 'string') fail(where, 'title', o.title, 'a string');
  return {
    maxCells: checkInt(where, 'maxCells', o.maxCells ?? 600, 1),
    cellSize: o.cellSize == null ? null : checkInt(where, 'cellSize', o.cellSize, 1, 64),
    title: o.title ?? null,
    labelMinSize: checkInt(where, 'labelMinSize', o.labelMinSize ?? 2, 1),
  };
}

/** One module's square: node positions [start, start + size) in the ordering. */
export interface ModuleBox {
  index: number;
  start: number;
  size: number;
  level: number;
  nodes: number[];
}

/** The geometry of one picture. */
export interface StructureLayout {
  p: number;
  /** Position → node id (modules concatenated in topological order). */
  order: Int32Array;
  /** Cells per side (= p unless binned). */
  cells: number;
  /** Pixels per cell. */
  cellSize: number;
  /** Pixels per node position (`cellSize · cells / p`). */
  unit: number;
  /** Side of the matrix in pixels. */
  side: number;
  /** Darkness 0…1 per cell (row-major cells×cells): |W| of the strongest kept edge in it over the largest kept |W|; 0 = no edge. */
  shade: Float32Array;
  boxes: ModuleBox[];
}

/** Computes the geometry of a snapshot's picture. */
export function structureLayout(snap: StructureSnapshot, opts: ResolvedRenderOptions): StructureLayout {
  const { p, mask, weights } = snap;
  const order = new Int32Array(p);
  const position = new Int32Array(p);
  const boxes: ModuleBox[] = [];
  let pos = 0;
  snap.modules.forEach((nodes, index) => {
    boxes.push({ index, start: pos, size: nodes.length, level: snap.levelOf[index] ?? 0, nodes: nodes.slice() });
    for (const v of nodes) {
      order[pos] = v;
      position[v] = pos++;
    }
  });
  const cells = Math.min(p, opts.maxCells);
  const cellSize = opts.cellSize ?? defaultCellSize(cells);
  const shade = new Float32Array(cells * cells);
  let top = 0;
  for (let j = 0; j < p; j++) {
    const rb = Math.floor((position[j] * cells) / p);
    for (let k = 0; k < p; k++) {
      if (!mask[j * p + k]) continue;
      const a = Math.abs(weights[j * p + k]);
      const i = rb * cells + Math.floor((position[k] * cells) / p);
      if (a > shade[i]) shade[i] = a;
      if (a > top) top = a;
    }
  }
  if (top > 0) for (let i = 0; i < shade.length; i++) shade[i] /= top;
  return { p, order, cells, cellSize, unit: (cellSize * cells) / Math.max(1, p), side: cellSize * cells, shade, boxes };
}

/**
 * Pixels per cell when `cellSize` is not given: `max(1, floor(600 / cells))`, a
 * matrix of about 600 px (more, 1 px per cell, above 600 cells).
 * @example defaultCellSize(100) // 6
 */
export function defaultCellSize(cells: number): number {
  return Math.max(1, Math.floor(600 / Math.max(1, cells)));
}

/** Ink opacity of a cell of darkness `v` (0 < v ≤ 1): faint edges stay visible. */
export function inkOf(v: number): number {
  return 0.25 + 0.75 * v;
}

/** The default caption of a snapshot. */
export function defaultTitle(snap: StructureSnapshot): string {
  const largest = snap.modules.reduce((m, a) => Math.max(m, a.length), 0);
  const label = snap.label ? ` ${snap.label}` : '';
  return `${snap.name}${label}: ${snap.modules.length} modules, largest ${largest}, ${snap.edges} edges`;
}
