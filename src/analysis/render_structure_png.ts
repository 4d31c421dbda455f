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
import {
  defaultCellSize,
  inkOf,
  resolveRenderOptions,
  structureLayout,
  type RenderStructureOptions,
  type ResolvedRenderOptions,
  type StructureLayout,
  type StructureSnapshot,
} from './structure_layout.js';

const MARGIN = 8;
const GAP = 16;
const RED: [number, number, number] = [214, 39, 40];
const BLUE: [number, number, number] = [107, 174, 214];
const FRAME: [number, number, number] = [187, 187, 187];

/**
 * Largest side, in pixels, of a PNG structure picture (`rasterizeStructure`,
 * `renderStructurePng`, `renderStructurePngSideBySide`): 16384, the largest canvas
 * side most browsers and viewers open.
 */
export const MAX_PNG_SIDE = 16384;

/**
 * Largest area, in pixels, of a PNG structure picture: 2²⁶ = 67108864 (64 Mi px, an
 * 8192 × 8192 square; 192 MiB of RGB, twice that while encoding). Larger requests
 * throw a ConfigError that names a `cellSize` (or `maxCells`) that fits.
 */
export const MAX_PNG_PIXELS = 2 ** 26;

/** Width and height in pixels of panels of the given cell counts side by side. */
function pictureSize(cells: number[], cellSize: number | null): { width: number; height: number } {
  let width = MARGIN * 2 + GAP * (cells.length - 1);
  let side = 0;
  for (const c of cells) {
    const s = c * (cellSize ?? defaultCellSize(c));
    width += s;
    if (s > side) side = s;
  }
  return { width, height: MARGIN * 2 + side };
}

const fits = ({ width, height }: { width: number; height: number }) => width <= MAX_PNG_SIDE && height <= MAX_PNG_SIDE && width * height <= MAX_PNG_PIXELS;

/**
 * Refuses, before any allocation, a picture over MAX_PNG_SIDE / MAX_PNG_PIXELS, with
 * the largest cellSize that fits (or, when even 1 px per cell is too large, the
 * largest maxCells at cellSize 1).
 */
function checkPictureSize(where: string, snaps: StructureSnapshot[], o: ResolvedRenderOptions): void {
  const cellsAt = (maxCells: number) => snaps.map((s) => Math.min(s.p, maxCells));
  const cells = cellsAt(o.maxCells);
  const size = pictureSize(cells, o.cellSize);
  if (fits(size)) return;
  const distinct = Array.from(new Set(cells));
  const what = `${distinct.length === 1 ? distinct[0] : `up to ${distinct.reduce((a, b) => (b > a ? b : a), 0)}`} cells per side${snaps.length > 1 ? ` (${snaps.length} panels side by side)` : ''}`;
  const limit = `That is a ${size.width} × ${size.height} px picture; PNG pictures are limited to ${MAX_PNG_SIDE} px per side and ${MAX_PNG_PIXELS} px in all.`;
  const current = o.cellSize ?? cells.reduce((a, c) => Math.max(a, defaultCellSize(c)), 1);
  for (let c = current - 1; c >= 1; c--) {
    if (fits(pictureSize(cells, c))) {
      fail(
        where,
        'cellSize',
        o.cellSize ?? current,
        `an integer in [1, ${c}] for ${what}`,
        `${o.cellSize == null ? '(That is the default cellSize.) ' : ''}${limit} Use cellSize <= ${c} (or a smaller maxCells).`,
      );
    }
  }
  // Even 1 px per cell is too large: the largest maxCells that fits at cellSize 1.
  let lo = 0;
  let hi = o.maxCells - 1;
  while (lo < hi) {
    const mid = Math.ceil((lo + hi) / 2);
    if (fits(pictureSize(cellsAt(mid), 1))) lo = mid;
    else hi = mid - 1;
  }
  if (lo >= 1) fail(where, 'maxCells', o.maxCells, `an integer in [1, ${lo}] at cellSize 1`, `${limit} Use maxCells <= ${lo} and cellSize 1.`);
  fail(where, 'sources', `${snaps.length} pictures`, `few enough to fit side by side within ${MAX_PNG_SIDE} px`, limit);
}

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
 *
 * Caveat: the picture must fit {@link MAX_PNG_SIDE} px per side and
 * {@link MAX_PNG_PIXELS} px in all; a larger one (e.g. cellSize 64 at 3000 cells)
 * throws a ConfigError, before allocating, that names the largest cellSize (or
 * maxCells) that fits.
 * @example const { width, height, rgb } = nm.analysis.rasterizeStructure([layer], { cellSize: 4 });
 */
export function rasterizeStructure(sources: StructureSource[], opts?: RenderStructureOptions): RgbImage {
  return rasterize('rasterizeStructure', sources, opts, true);
}

function rasterize(where: string, sources: StructureSource[], opts: RenderStructureOptions | undefined, many: boolean): RgbImage {
  if (!Array.isArray(sources) || sources.length < 1) fail(where, 'sources', sources, 'a non-empty array of layers or snapshots');
  const o = resolveRenderOptions(where, opts);
  const snaps = sources.map((s, i) => toSnapshot(where, s, many ? `sources[${i}]` : 'layer'));
  checkPictureSize(where, snaps, o);
  const layouts = snaps.map((snap) => structureLayout(snap, o));
  const width = MARGIN * 2 + layouts.reduce((w, L) => w + L.side, 0) + GAP * (layouts.length - 1);
  const height = MARGIN * 2 + layouts.reduce((h, L) => Math.max(h, L.side), 0);
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
 * no text). Node only. Pictures over {@link MAX_PNG_SIDE} px per side or
 * {@link MAX_PNG_PIXELS} px in all throw a ConfigError naming a cellSize that fits.
 * @example await writeFile('modules.png', await nm.analysis.renderStructurePng(layer));
 */
export async function renderStructurePng(layer: StructureSource, opts?: RenderStructureOptions): Promise<Uint8Array> {
  return encodePng(rasterize('renderStructurePng', [layer], opts, false));
}

/**
 * PNG bytes of several pictures side by side (e.g. first and last epoch). Node only.
 * @example await writeFile('first_vs_last.png', await nm.analysis.renderStructurePngSideBySide([first, last]));
 */
export async function renderStructurePngSideBySide(sources: StructureSource[], opts?: RenderStructureOptions): Promise<Uint8Array> {
  return encodePng(rasterize('renderStructurePngSideBySide', sources, opts, true));
}
