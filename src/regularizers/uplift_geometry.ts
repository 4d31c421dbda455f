/**
 * Neuron positions for the URN's geometric experiment: the "uplift" of an input
 * grid into a 3-D volume (Golkar, "Emergent Structures and Lifetime Structure
 * Evolution in Artificial Neural Networks", Sec. 3, Fig. 5, eq. 8).
 */
import { checkInt, checkKeys, fail } from '../utils/errors.js';

/**
 * An uplift geometry. Neurons are numbered in this order (the URN embeds the input in
 * its first neurons and reads the output from its last ones):
 * 1. the `rows × cols` input pixels, row-major (pixel k at x = k mod cols,
 *    y = ⌊k / cols⌋), on the plane z = 1;
 * 2. the `X × Y × Z` hidden lattice (x fastest, then y, then z) on the planes
 *    z = 2 … Z + 1, its x/y coordinates spread evenly over the input grid's extent
 *    (lattice point i sits at `(i + 0.5)·cols/X − 0.5`, and likewise for y);
 * 3. `outputs` output neurons in a compact block (lattice spacing) at the centre of
 *    the plane z = Z + 2 (the paper puts them at the centre of its top plane).
 *
 * Total neurons: `rows·cols + X·Y·Z + outputs`.
 */
export interface UpliftGeometry {
  /** `[rows, cols]` of the input image, e.g. `[8, 8]`. Required. */
  inputGrid: [number, number];
  /** `[X, Y, Z]` of the hidden lattice. Required (Z may be 0 for no hidden plane). */
  lattice: [number, number, number];
  /** Output neurons on their own top plane. Default: 0 (the last lattice neurons are the outputs). */
  outputs?: number;
}

/** Number of neurons a geometry places. */
export function geometrySize(g: UpliftGeometry): number {
  return g.inputGrid[0] * g.inputGrid[1] + g.lattice[0] * g.lattice[1] * g.lattice[2] + (g.outputs ?? 0);
}

/** Validates a geometry, returning a copy with `outputs` filled in. */
export function resolveGeometry(where: string, value: unknown): Required<UpliftGeometry> {
  if (value == null || typeof value !== 'object' || Array.isArray(value)) {
    fail(where, 'geometry', value, 'an object { inputGrid: [rows, cols], lattice: [X, Y, Z], outputs? }');
  }
  const g = value as Partial<UpliftGeometry>;
  checkKeys(`${where} geometry`, g, ['inputGrid', 'lattice', 'outputs']);
  const grid = g.inputGrid;
  if (!Array.isArray(grid) || grid.length !== 2) fail(where, 'geometry.inputGrid', grid, 'an array [rows, cols]');
  const lattice = g.lattice;
  if (!Array.isArray(lattice) || lattice.length !== 3) fail(where, 'geometry.lattice', lattice, 'an array [X, Y, Z]');
  const rows = checkInt(where, 'geometry.inputGrid[0]', grid[0], 1);
  const cols = checkInt(where, 'geometry.inputGrid[1]', grid[1], 1);
  const X = checkInt(where, 'geometry.lattice[0]', lattice[0], 1);
  const Y = checkInt(where, 'geometry.lattice[1]', lattice[1], 1);
  const Z = checkInt(where, 'geometry.lattice[2]', lattice[2], 0);
  const outputs = checkInt(where, 'geometry.outputs', g.outputs ?? 0, 0);
  return { inputGrid: [rows, cols], lattice: [X, Y, Z], outputs };
}

/**
 * `[x, y, z]` of every neuron of a geometry, in neuron order (see {@link UpliftGeometry}).
 * Use it to analyse or draw a URN trained without a synaptic-length term on the same
 * layout. Caveat: the geometry is not validated here; `synapticLength({ geometry })` does.
 * @example nm.regularizers.upliftPositions({ inputGrid: [8, 8], lattice: [8, 8, 3], outputs: 10 }).length // 266
 */
export function upliftPositions(g: Required<UpliftGeometry>): number[][] {
  const [rows, cols] = g.inputGrid;
  const [X, Y, Z] = g.lattice;
  const pos: number[][] = [];
  for (let k = 0; k < rows * cols; k++) pos.push([k % cols, Math.floor(k / cols), 1]);
  const sx = cols / X;
  const sy = rows / Y;
  for (let iz = 0; iz < Z; iz++) {
    for (let iy = 0; iy < Y; iy++) {
      for (let ix = 0; ix < X; ix++) pos.push([(ix + 0.5) * sx - 0.5, (iy + 0.5) * sy - 0.5, 2 + iz]);
    }
  }
  const k = g.outputs;
  if (k > 0) {
    const perRow = Math.ceil(Math.sqrt(k));
    const nRows = Math.ceil(k / perRow);
    const cx = (cols - 1) / 2;
    const cy = (rows - 1) / 2;
    for (let i = 0; i < k; i++) {
      const r = Math.floor(i / perRow);
      const c = i % perRow;
      const inRow = r === nRows - 1 ? k - r * perRow : perRow;
      pos.push([cx + (c - (inRow - 1) / 2) * sx, cy + (r - (nRows - 1) / 2) * sy, Z + 2]);
    }
  }
  return pos;
}
