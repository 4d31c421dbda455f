/**
 * SVG pictures of a Neural Module layer's module structure: the adjacency matrix with
 * nodes ordered by module and every module outlined as a square on the diagonal (the
 * papers' Figures 5–7, "each black square denoting a neural module";
 * neural-modules-v3 §4.3, neural-modules-v4 App. G.3).
 */
import { NeuralModuleLayer } from '../layers/neural_module/layer.js';
import { ConfigError, checkInt, fail, show } from '../utils/errors.js';
import {
  defaultTitle,
  inkOf,
  resolveRenderOptions,
  structureLayout,
  structureSnapshot,
  type RenderStructureOptions,
  type ResolvedRenderOptions,
  type StructureSnapshot,
} from './structure_layout.js';

const MARGIN = 12;
const TITLE_H = 22;
const LABEL_H = 14;
const GAP = 28;

const esc = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
const num = (v: number) => String(Math.round(v * 100) / 100);

/** A layer (its current partition and weights) or a snapshot taken earlier. */
export type StructureSource = NeuralModuleLayer | StructureSnapshot;

/**
 * Resolves a source to a snapshot. A snapshot passed in is checked (O(p²), like
 * drawing it): `p` an integer >= 0, `mask` and `weights` of p·p entries, and
 * `modules` listing every node id in [0, p) exactly once. `arg` names the argument
 * in errors (`'layer'`, `'sources[2]'`).
 */
export function toSnapshot(where: string, source: StructureSource, arg = 'layer'): StructureSnapshot {
  if (source instanceof NeuralModuleLayer) return structureSnapshot(source);
  if (
    source == null ||
    typeof source !== 'object' ||
    !Array.isArray((source as StructureSnapshot).modules) ||
    !((source as StructureSnapshot).mask instanceof Uint8Array)
  ) {
    fail(where, arg, source, 'a built NeuralModule layer or a snapshot from nm.analysis.structureSnapshot(layer)');
  }
  const p = checkInt(where, `${arg}.p`, source.p, 0);
  const pp = p * p;
  if (source.mask.length !== pp)
    throw new ConfigError(`${where}: '${arg}.mask' must be a Uint8Array of p·p = ${pp} entries; received ${source.mask.length} entries.`);
  const w = source.weights as ArrayLike<number> | undefined;
  if (w == null || typeof w !== 'object' || w.length !== pp) {
    throw new ConfigError(
      `${where}: '${arg}.weights' must be a Float32Array of p·p = ${pp} entries; received ${w == null || typeof w !== 'object' ? show(w) : `${w.length} entries`}.`,
    );
  }
  const seen = new Uint8Array(p);
  let listed = 0;
  source.modules.forEach((nodes, i) => {
    if (!Array.isArray(nodes)) fail(where, `${arg}.modules[${i}]`, nodes, 'an array of node ids');
    nodes.forEach((v, j) => {
      checkInt(where, `${arg}.modules[${i}][${j}]`, v, 0, p - 1);
      if (seen[v]) fail(where, `${arg}.modules[${i}][${j}]`, v, 'a node id not listed in an earlier module (every node in exactly one module)');
      seen[v] = 1;
      listed++;
    });
  });
  if (listed !== p) throw new ConfigError(`${where}: '${arg}.modules' must list each of the p = ${p} nodes once; received ${listed} node ids.`);
  return source;
}

/** One panel as SVG elements (origin at its top-left corner) plus its size. */
function panel(snap: StructureSnapshot, o: ResolvedRenderOptions, idPrefix: string): { body: string; width: number; height: number } {
  const L = structureLayout(snap, o);
  const c = L.cellSize;
  const parts: string[] = [];
  const title = o.title ?? defaultTitle(snap);
  parts.push(`<text x="0" y="15" font-family="sans-serif" font-size="13" fill="#222">${esc(title)}</text>`);
  parts.push(`<g transform="translate(0,${TITLE_H})">`);
  parts.push(`<rect id="${idPrefix}matrix" x="0" y="0" width="${L.side}" height="${L.side}" fill="#fff" stroke="#bbb" stroke-width="0.5"/>`);
  parts.push(`<g id="${idPrefix}edges" fill="#000">`);
  for (let r = 0; r < L.cells; r++) {
    for (let k = 0; k < L.cells; k++) {
      const v = L.shade[r * L.cells + k];
      if (v > 0) parts.push(`<rect x="${k * c}" y="${r * c}" width="${c}" height="${c}" fill-opacity="${num(inkOf(v))}"/>`);
    }
  }
  parts.push('</g>');
  parts.push(`<g id="${idPrefix}modules">`);
  for (const b of L.boxes) {
    const x = b.start * L.unit;
    const w = b.size * L.unit;
    const cyclic = b.size >= 2;
    const nodes = b.nodes.join(',');
    parts.push(
      `<g id="${idPrefix}module-${b.index}" class="module" data-index="${b.index}" data-start="${b.start}" data-size="${b.size}" data-level="${b.level}" data-nodes="${nodes}">`,
    );
    parts.push(`<title>module ${b.index}: ${b.size} node${b.size === 1 ? '' : 's'} (${b.nodes.join(', ')}), level ${b.level}</title>`);
    parts.push(
      cyclic
        ? `<rect x="${num(x)}" y="${num(x)}" width="${num(w)}" height="${num(w)}" fill="#d62728" fill-opacity="0.08" stroke="#d62728" stroke-width="1.5"/>`
        : `<rect x="${num(x)}" y="${num(x)}" width="${num(w)}" height="${num(w)}" fill="none" stroke="#6baed6" stroke-width="0.5"/>`,
    );
    if (b.size >= o.labelMinSize) {
      parts.push(`<text x="${num(x)}" y="${num(x + w + 11)}" font-family="sans-serif" font-size="10" fill="#d62728">M${b.index} (${b.size})</text>`);
    }
    parts.push('</g>');
  }
  parts.push('</g></g>');
  return { body: parts.join('\n'), width: L.side + GAP, height: TITLE_H + L.side + LABEL_H };
}

function svgDocument(title: string, width: number, height: number, body: string): string {
  return [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${num(width)}" height="${num(height)}" viewBox="0 0 ${num(width)} ${num(height)}">`,
    `<title>${esc(title)}</title>`,
    `<rect width="100%" height="100%" fill="#fff"/>`,
    body,
    '</svg>',
    '',
  ].join('\n');
}

/**
 * An SVG (a string) of the layer's adjacency matrix: nodes ordered by module, modules
 * in the topological order of `layer.structure().modules`, kept edges as dark cells
 * (darker = larger |W|; row = source j, column = target k), each module a square on
 * the diagonal, and the picture block upper triangular (edges between modules only go
 * forward).
 *
 * Every module is a `<g id="module-i" class="module">` (i = its index in
 * `structure().modules`) with a `<title>` listing its nodes and level, `data-start`
 * (its first position in the ordering), `data-size` and `data-nodes`; its square is at
 * `x = y = data-start · unit` inside the matrix group. Modules of size ≥ 2 are filled
 * red and labelled `Mi (size)`; singletons get a thin blue outline.
 *
 * When to use: to look at what a regularizer did to the module structure (compare
 * the first and last epoch; the `structureLogger` callback writes both).
 *
 * Caveats: above `maxCells` nodes, nodes share cells (the picture stays about 600 px);
 * the SVG then has up to maxCells² edge rectangles.
 *
 * @example
 * import { writeFile } from 'node:fs/promises';
 * await writeFile('modules.svg', nm.analysis.renderStructure(layer));
 */
export function renderStructure(layer: StructureSource, opts?: RenderStructureOptions): string {
  const where = 'renderStructure';
  const o = resolveRenderOptions(where, opts);
  const snap = toSnapshot(where, layer);
  const { body, width, height } = panel(snap, o, '');
  return svgDocument(
    o.title ?? defaultTitle(snap),
    MARGIN * 2 + width - GAP,
    MARGIN * 2 + height,
    `<g transform="translate(${MARGIN},${MARGIN})">\n${body}\n</g>`,
  );
}

/**
 * An SVG of several snapshots side by side (e.g. the first and the last epoch, like
 * the papers' Figures 5–7). Module ids are prefixed by the panel: `panel-0-module-3`.
 * @example renderStructureSideBySide([firstSnapshot, structureSnapshot(layer, 'epoch 20')])
 */
export function renderStructureSideBySide(sources: StructureSource[], opts?: RenderStructureOptions): string {
  const where = 'renderStructureSideBySide';
  if (!Array.isArray(sources) || sources.length < 1) fail(where, 'sources', sources, 'a non-empty array of layers or snapshots');
  const o = resolveRenderOptions(where, opts);
  let x = MARGIN;
  let height = 0;
  const groups: string[] = [];
  sources.forEach((s, i) => {
    const snap = toSnapshot(where, s, `sources[${i}]`);
    const pnl = panel(snap, { ...o, title: null }, `panel-${i}-`);
    groups.push(`<g id="panel-${i}" transform="translate(${x},${MARGIN})">\n${pnl.body}\n</g>`);
    x += pnl.width;
    height = Math.max(height, pnl.height);
  });
  const title = o.title ?? 'module structure';
  return svgDocument(title, x - GAP + MARGIN, height + MARGIN * 2, groups.join('\n'));
}
