/**
 * PNG pictures of a Neural Module layer's module structure: the same picture as
 * `renderStructure` (nodes ordered by module, kept edges as dark cells, modules as
 * squares on the diagonal; the papers' Figures 5–7), rasterized directly from the
 * layout, not from the SVG. PNGs carry no text: captions and module labels are in the
 * SVG only.
 */
import { fail } from '../utils/errors.js';
import { encodePng, type RgbImage } from './png.js';
import { toSnapshot, type StructureSource } from './render_structure.js';
import { inkOf, resolveRenderOptions, structureLayout, type RenderStructureOptions, type StructureLayout } from './structure_layout.js';

const MARGIN = 8;
const GAP = 16;
const RED: [number, number, number] = [214, 39, 40];
const BLUE: [number, number, number] = [107, 174, 214];
const FRAME: [number, number, number] = [187, 187, 187];

function drawPanel(img: RgbImage, L: StructureLayout, ox: number, oy: number): void {
  const { width, rgb } = img;
  const set = (x: number, y: number, c: readonly number[]) => {
    const i = ((oy + y) * width + ox + x) * 3;
    rgb[i] = c[0];
    rgb[i + 1] = c[1];
    rgb[i + 2] = c[2];
  };
  const tint = (x: number, y: number, c: readonly number[], a: number) => {
    const i = ((oy + y) * width + ox + x) * 3;
    for (let ch = 0; ch < 3; ch++) rgb[i + ch] = Math.round(rgb[i + ch] * (1 - a) + c[ch] * a);
  };
  const box = (b: { start: number; size: number }) => {
    const x0 = Math.round(b.start * L.unit);
    const x1 = Math.max(x0, Math.round((b.start + b.size) * L.unit) - 1);
    return [x0, Math.min(x1, L.side - 1)];
  };
  const c = L.cellSize;
  // Module squares (fill), then edges, then outlines on top.
  for (const b of L.boxes) {
    if (b.size < 2) continue;
    const [a, z] = box(b);
    for (let y = a; y <= z; y++) for (let x = a; x <= z; x++) tint(x, y, RED, 0.1);
  }
  for (let r = 0; r < L.cells; r++) {
    for (let k = 0; k < L.cells; k++) {
      const v = L.shade[r * L.cells + k];
      if (v <= 0) continue;
      const ink = inkOf(v);
      for (let y = r * c; y < (r + 1) * c; y++) for (let x = k * c; x < (k + 1) * c; x++) tint(x, y, [0, 0, 0], ink);
    }
  }
  const outline = (a: number, z: number, col: readonly number[]) => {
    for (let t = a; t <= z; t++) {
      set(t, a, col);
      set(t, z, col);
      set(a, t, col);
      set(z, t, col);
    }
  };
  outline(0, L.side - 1, FRAME);
  for (const b of L.boxes) {
    const [a, z] = box(b);
    if (b.size >= 2) outline(a, z, RED);
    else if (z - a >= 2) outline(a, z, BLUE);
  }
}

/**
 * Rasterizes one or more structure pictures side by side into an RGB image (white
 * background; edges black with opacity 0.25 + 0.75·|W|/max|W|; modules of ≥ 2 nodes as
 * red squares, singletons as thin blue squares when a node is ≥ 3 px wide).
 */
export function rasterizeStructure(sources: StructureSource[], opts?: RenderStructureOptions): RgbImage {
  const where = 'rasterizeStructure';
  if (!Array.isArray(sources) || sources.length < 1) fail(where, 'sources', sources, 'a non-empty array of layers or snapshots');
  const o = resolveRenderOptions(where, opts);
  const layouts = sources.map((s) => structureLayout(toSnapshot(where, s), o));
  const width = MARGIN * 2 + layouts.reduce((w, L) => w + L.side, 0) + GAP * (layouts.length - 1);
  const height = MARGIN * 2 + Math.max(...layouts.map((L) => L.side));
  const img: RgbImage = { width, height, rgb: new Uint8Array(width * height * 3).fill(255) };
  let x = MARGIN;
  for (const L of layouts) {
    drawPanel(img, L, x, MARGIN);
    x += L.side + GAP;
  }
  return img;
}

/**
 * PNG bytes of the layer's structure picture (see `renderStructure`; same layout,
 * no text). Node only.
 * @example await writeFile('modules.png', await nm.analysis.renderStructurePng(layer));
 */
export async function renderStructurePng(layer: StructureSource, opts?: RenderStructureOptions): Promise<Uint8Array> {
  return encodePng(rasterizeStructure([layer], opts));
}

/**
 * PNG bytes of several pictures side by side (e.g. first and last epoch). Node only.
 * @example await writeFile('first_vs_last.png', await nm.analysis.renderStructurePngSideBySide([first, last]));
 */
export async function renderStructurePngSideBySide(sources: StructureSource[], opts?: RenderStructureOptions): Promise<Uint8Array> {
  return encodePng(rasterizeStructure(sources, opts));
}
