/**
 * SVG pictures of a URN: the weight matrix with neurons sorted by emergent layer
 * next to their activities (Golkar, "Emergent Structures and Lifetime Structure
 * Evolution in Artificial Neural Networks", Figs. 3–4), and the connectome of a
 * positioned URN (Fig. 6: forward synapses red, backward green, lateral black).
 */
import { URNLayer } from '../layers/urn/layer.js';
import { ConfigError, checkKeys, checkNumber, checkOneOf, fail } from '../utils/errors.js';
import type { EmergentStructure } from './emergent_structure.js';

/** Options of {@link renderUrnWeights}. */
export interface RenderUrnWeightsOptions {
  /** Cells with `|W| ≤ threshold` stay blank. Default: the analysis' `weightThreshold`. */
  threshold?: number;
  /** Also draw the inactive neurons (after the active ones). Default: false. */
  includeInactive?: boolean;
  /** Side of the matrix in pixels (cells are at least 1 px). Default: 720. */
  size?: number;
  /** Title line. Default: a summary of the analysis. */
  title?: string;
}

/** Options of {@link renderConnectome}. */
export interface RenderConnectomeOptions {
  /** Neuron coordinates `[x, y, z]`. Default: the layer's synaptic-length positions. */
  positions?: number[][];
  /** Synapses with `|W| ≤ threshold` are not drawn. Default: the analysis' `weightThreshold`, else 1e-2. */
  threshold?: number;
  /** `'oblique'` (3-D look, z up) or `'side'` (x horizontal, z up). Default: `'oblique'`. */
  view?: 'oblique' | 'side';
  /** Picture width in pixels. Default: 900. */
  width?: number;
  /** Title line. Default: a summary of the counts. */
  title?: string;
}

/** Checks that `analysis` is an {@link EmergentStructure} of `neurons` neurons. */
function checkAnalysis(where: string, analysis: unknown, neurons: number): void {
  const a = analysis as EmergentStructure | null;
  if (a == null || typeof a !== 'object' || !(a.layerOf instanceof Int32Array) || !Array.isArray(a.active) || !Array.isArray(a.meanActivity)) {
    fail(
      where,
      'analysis',
      typeof analysis === 'object' && analysis != null ? 'an object without layerOf/active/meanActivity' : analysis,
      'the result of nm.analysis.emergentStructure(layer, inputs)',
    );
  }
  if (a.neurons !== neurons || a.layerOf.length !== neurons)
    fail(where, 'analysis', `an analysis of ${a.neurons} neurons`, `one of this layer (${neurons} neurons)`);
}

/** Checks `positions`: one [x, y, z] of finite numbers per neuron. */
function checkPositions(where: string, positions: unknown, neurons: number): number[][] {
  if (!Array.isArray(positions) || positions.length !== neurons) {
    fail(where, 'positions', Array.isArray(positions) ? `${positions.length} entries` : positions, `one [x, y, z] per neuron (${neurons})`);
  }
  positions.forEach((q, i) => {
    if (!Array.isArray(q) || q.length !== 3 || !q.every((v) => typeof v === 'number' && Number.isFinite(v)))
      fail(where, `positions[${i}]`, q, '[x, y, z] with finite numbers');
  });
  return positions as number[][];
}

/** Smallest and largest of `values` by a loop (no argument spreading: S can be large). */
function extent(values: readonly number[]): [number, number] {
  let lo = Infinity;
  let hi = -Infinity;
  for (const v of values) {
    if (v < lo) lo = v;
    if (v > hi) hi = v;
  }
  return [lo, hi];
}

const esc = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
const fmt = (v: number) => (Math.round(v * 100) / 100).toString();

/**
 * SVG of the weight matrix in the paper's orientation (row = receiving neuron,
 * column = sending neuron, i.e. `kernelᵀ`), neurons sorted by emergent layer, with
 * the mean activity per iteration on the left. An emergent MLP shows as blocks just
 * below the diagonal (eq. 1). Red = positive, blue = negative, opacity ∝ √|w|.
 *
 * When to use: after {@link emergentStructure}, to look at what the URN became.
 * Caveats: one `<rect>` per drawn cell, so keep `includeInactive` off for large S.
 * `analysis` must come from `emergentStructure` on this layer (a ConfigError otherwise).
 *
 * @example fs.writeFileSync('urn.svg', nm.analysis.renderUrnWeights(layer, nm.analysis.emergentStructure(layer, x)))
 */
export function renderUrnWeights(layer: URNLayer, analysis: EmergentStructure, opts: RenderUrnWeightsOptions = {}): string {
  const where = 'renderUrnWeights';
  if (!(layer instanceof URNLayer) || !layer.built) fail(where, 'layer', typeof layer, 'a built URNLayer');
  checkKeys(where, opts, ['threshold', 'includeInactive', 'size', 'title']);
  checkAnalysis(where, analysis, layer.resolved.neurons);
  const S = analysis.neurons;
  const thr = checkNumber(where, 'threshold', opts.threshold ?? analysis.weightThreshold, 0);
  const size = checkNumber(where, 'size', opts.size ?? 720, 10);
  const order = analysis.active.slice();
  if (opts.includeInactive) for (let i = 0; i < S; i++) if (analysis.layerOf[i] < 0) order.push(i);
  const n = order.length;
  const W = layer.getWeights()[0].dataSync();
  const cell = Math.max(1, Math.min(12, Math.floor(size / Math.max(1, n))));
  const I = analysis.iterations;
  const actCell = 14;
  const left = 40 + actCell * (I + 1);
  const top = 56;
  const side = cell * n;
  let maxW = 0;
  for (const j of order) for (const k of order) maxW = Math.max(maxW, Math.abs(W[j * S + k]));
  const out: string[] = [];
  const width = left + side + 20;
  const height = top + side + 30;
  out.push(
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="sans-serif" font-size="11">`,
  );
  out.push(`<rect width="${width}" height="${height}" fill="white"/>`);
  const title =
    opts.title ??
    `URN S=${S}, I=${I}: ${analysis.activeCount} active neurons, layer widths [${analysis.layerWidths.join(', ')}], ` +
      `forward ${analysis.weights.forward} / backward ${analysis.weights.backward} / lateral ${analysis.weights.lateral} synapses > ${fmt(thr)}`;
  out.push(`<text x="8" y="16">${esc(title)}</text>`);
  out.push(`<text x="8" y="${top - 8}">activity</text><text x="${left}" y="${top - 8}">weights (row = to, column = from)</text>`);
  // Activity panel: mean |N| per neuron (row) and iteration (column), grey scale.
  let maxA = 0;
  for (let l = 0; l <= I; l++) for (const i of order) maxA = Math.max(maxA, analysis.meanActivity[l][i]);
  for (let l = 0; l <= I; l++) {
    out.push(`<text x="${30 + l * actCell}" y="${top - 20}" font-size="9">${l}</text>`);
    order.forEach((i, r) => {
      const a = analysis.meanActivity[l][i];
      if (a > 0 && maxA > 0) {
        const g = Math.round(255 * (1 - Math.sqrt(a / maxA)));
        out.push(`<rect x="${28 + l * actCell}" y="${top + r * cell}" width="${actCell - 1}" height="${cell}" fill="rgb(${g},${g},${g})"/>`);
      }
    });
  }
  out.push(`<rect x="${left}" y="${top}" width="${side}" height="${side}" fill="none" stroke="#999" stroke-width="0.5"/>`);
  order.forEach((k, r) => {
    order.forEach((j, c) => {
      const w = W[j * S + k];
      if (!(Math.abs(w) > thr) || maxW === 0) return;
      const alpha = fmt(0.15 + 0.85 * Math.sqrt(Math.abs(w) / maxW));
      const color = w > 0 ? '#c81e1e' : '#1e3cc8';
      out.push(`<rect x="${left + c * cell}" y="${top + r * cell}" width="${cell}" height="${cell}" fill="${color}" fill-opacity="${alpha}"/>`);
    });
  });
  // Layer boundaries.
  let pos = 0;
  for (let l = 0; l <= I; l++) {
    const count = order.filter((i) => analysis.layerOf[i] === l).length;
    if (count > 0) out.push(`<text x="${left + (pos + count / 2) * cell - 6}" y="${top - 20}" font-size="9">L${l}</text>`);
    pos += count;
    if (pos > 0 && pos < n) {
      const p = left + pos * cell;
      const q = top + pos * cell;
      out.push(`<line x1="${p}" y1="${top}" x2="${p}" y2="${top + side}" stroke="#888" stroke-width="0.5" stroke-dasharray="3,2"/>`);
      out.push(`<line x1="${left}" y1="${q}" x2="${left + side}" y2="${q}" stroke="#888" stroke-width="0.5" stroke-dasharray="3,2"/>`);
    }
  }
  out.push(`<text x="8" y="${height - 10}">red = positive, blue = negative; neurons sorted by first-activation iteration (emergent layer)</text>`);
  out.push('</svg>');
  return out.join('\n');
}

/**
 * SVG of a positioned URN's synapses (Fig. 6): each synapse `|W[j,k]| > threshold` is
 * a line coloured by direction in height z: red forward (to larger z), green backward,
 * black lateral (same z); opacity ∝ |w|. With an analysis, only active neurons are drawn.
 *
 * When to use: with a synaptic-length geometry, to see local connectivity emerge.
 * Caveats: one `<line>` per synapse; raise `threshold` for dense matrices. Positions
 * must be finite `[x, y, z]` triples, one per neuron (a ConfigError names the first bad one).
 *
 * @example fs.writeFileSync('connectome.svg', nm.analysis.renderConnectome(layer, analysis))
 */
export function renderConnectome(layer: URNLayer, analysis: EmergentStructure | null = null, opts: RenderConnectomeOptions = {}): string {
  const where = 'renderConnectome';
  if (!(layer instanceof URNLayer) || !layer.built) fail(where, 'layer', typeof layer, 'a built URNLayer');
  checkKeys(where, opts, ['positions', 'threshold', 'view', 'width', 'title']);
  const S = layer.resolved.neurons;
  const positions = opts.positions ?? layer.resolved.synapticLength?.positions();
  if (positions == null) throw new ConfigError(`${where}: the layer has no synaptic-length geometry; pass 'positions' (one [x, y, z] per neuron).`);
  checkPositions(where, positions, S);
  if (analysis != null) checkAnalysis(where, analysis, S);
  const thr = checkNumber(where, 'threshold', opts.threshold ?? analysis?.weightThreshold ?? 1e-2, 0);
  const view = checkOneOf(where, 'view', opts.view ?? 'oblique', ['oblique', 'side'] as const);
  const width = checkNumber(where, 'width', opts.width ?? 900, 100);
  const shown = (i: number) => analysis == null || analysis.layerOf[i] >= 0;
  const ys = positions.map((p) => p[1]);
  const [yMin, yMax] = extent(ys);
  const yExtent = S > 0 ? yMax - yMin : 0;
  const zGap = view === 'oblique' ? 0.35 * yExtent + 1.5 : 1.5;
  const proj = positions.map(([x, y, z]) => (view === 'oblique' ? [x + 0.5 * y, z * zGap + 0.35 * y] : [x, z * zGap]));
  const [minX, maxX] = S > 0 ? extent(proj.map((p) => p[0])) : [0, 0];
  const [minY, maxY] = S > 0 ? extent(proj.map((p) => p[1])) : [0, 0];
  const margin = 30;
  const scale = (width - 2 * margin) / Math.max(1e-9, maxX - minX);
  const height = Math.round((maxY - minY) * scale + 2 * margin + 40);
  const sx = (i: number) => fmt(margin + (proj[i][0] - minX) * scale);
  const sy = (i: number) => fmt(height - margin - (proj[i][1] - minY) * scale);
  const W = layer.getWeights()[0].dataSync();
  let maxW = 0;
  for (let e = 0; e < S * S; e++) maxW = Math.max(maxW, Math.abs(W[e]));
  const counts = { forward: 0, backward: 0, lateral: 0 };
  const lines: string[] = [];
  for (let j = 0; j < S; j++) {
    if (!shown(j)) continue;
    for (let k = 0; k < S; k++) {
      const w = Math.abs(W[j * S + k]);
      if (j === k || !(w > thr) || !shown(k)) continue;
      const dz = positions[k][2] - positions[j][2];
      const kind = dz > 1e-9 ? 'forward' : dz < -1e-9 ? 'backward' : 'lateral';
      counts[kind]++;
      const color = kind === 'forward' ? '#d62728' : kind === 'backward' ? '#2ca02c' : '#000000';
      lines.push(
        `<line x1="${sx(j)}" y1="${sy(j)}" x2="${sx(k)}" y2="${sy(k)}" stroke="${color}" stroke-opacity="${fmt(0.1 + 0.9 * (w / maxW))}" stroke-width="0.7"/>`,
      );
    }
  }
  const out: string[] = [];
  out.push(
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="sans-serif" font-size="11">`,
  );
  out.push(`<rect width="${width}" height="${height}" fill="white"/>`);
  const title =
    opts.title ??
    `URN connectome (S=${S}): ${counts.forward} forward (red), ${counts.backward} backward (green), ${counts.lateral} lateral (black) synapses > ${fmt(thr)}`;
  out.push(`<text x="8" y="16">${esc(title)}</text>`);
  for (let i = 0; i < S; i++) {
    if (!shown(i)) continue;
    out.push(`<circle cx="${sx(i)}" cy="${sy(i)}" r="1.4" fill="${analysis ? '#444' : '#bbb'}"/>`);
  }
  out.push(...lines);
  out.push('</svg>');
  return out.join('\n');
}
