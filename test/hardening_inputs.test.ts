/**
 * Issue #14, item 8 (analysis and graph): bad inputs give a ConfigError (or a
 * NonFiniteError for NaN/Inf data) naming the function, the argument, the value and
 * what was expected; huge graphs schedule without overflowing the stack; pictures
 * larger than the PNG pixel budget are refused with a cellSize that fits.
 */
import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import * as nm from '../src/index.js';
import { useBackend } from './helpers/backends.js';
import { rasterizeStructure } from '../src/analysis/render_structure_png.js';
import { crc32 } from '../src/analysis/png.js';
import * as graph from '../src/graph/index.js';

/** A snapshot of p unconnected nodes (every node its own module), as structureSnapshot returns. */
function emptySnapshot(p: number): nm.analysis.StructureSnapshot {
  return {
    name: 'big',
    label: '',
    p,
    modules: Array.from({ length: p }, (_, i) => [i]),
    levelOf: new Array<number>(p).fill(0),
    mask: new Uint8Array(p * p),
    weights: new Float32Array(p * p),
    edges: 0,
    gamma: 0,
  };
}

/** CSR edge mask of p nodes; `next(v)` is v's single successor or -1. The dense `mask` is not read by buildSchedule and would be p² bytes, so it is left empty. */
function csrMask(p: number, next: (v: number) => number): graph.EdgeMask {
  const rowPtr = new Int32Array(p + 1);
  const cols: number[] = [];
  for (let v = 0; v < p; v++) {
    const w = next(v);
    if (w >= 0) cols.push(w);
    rowPtr[v + 1] = cols.length;
  }
  return { p, mask: new Uint8Array(0), rowPtr, colIdx: Int32Array.from(cols), edges: cols.length, gamma: 0 };
}

function urnLayer() {
  const layer = nm.layers.urn({ inputShape: [3], neurons: 8, iterations: 2, outputUnits: 2 });
  const model = tf.sequential({ layers: [layer] });
  return { layer, model };
}

const rows = (n: number) => Array.from({ length: n }, (_, i) => [0.1 * i, -0.2, 0.3]);

describe('hardening: analysis and graph inputs', () => {
  beforeAll(async () => useBackend('cpu'));

  it('1. renderStructurePng refuses a picture over the pixel budget and names a cellSize that fits', async () => {
    const snap = emptySnapshot(3000);
    let err: unknown;
    try {
      await nm.analysis.renderStructurePng(snap, { cellSize: 64, maxCells: 3000 });
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(nm.ConfigError);
    const msg = (err as Error).message;
    expect(msg).toMatch(/^renderStructurePng: 'cellSize' must be an integer in \[1, 2\] for 3000 cells per side; received 64\./);
    expect(msg).toContain('192016 × 192016 px');
    expect(msg).toContain(`${nm.analysis.MAX_PNG_SIDE} px per side`);
    expect(msg).toContain(`${nm.analysis.MAX_PNG_PIXELS} px in all`);
    expect(msg).toContain('Use cellSize <= 2');
    // The suggested cellSize fits.
    const img = rasterizeStructure([snap], { cellSize: 2, maxCells: 3000 });
    expect([img.width, img.height]).toEqual([6016, 6016]);
    // Side by side, the default cellSize can be too large too.
    const small = emptySnapshot(10);
    expect(() => rasterizeStructure(new Array(30).fill(small))).toThrow(
      /^rasterizeStructure: 'cellSize' must be an integer in \[1, 53\] for 10 cells per side \(30 panels side by side\); received 60\. \(That is the default cellSize\.\) That is a 18480 × 616 px picture/,
    );
    // Even cellSize 1 is too large: the message turns to maxCells.
    const mid = emptySnapshot(600);
    expect(() => rasterizeStructure(new Array(30).fill(mid))).toThrow(
      /^rasterizeStructure: 'maxCells' must be an integer in \[1, 530\] at cellSize 1; received 600\. That is a 18480 × 616 px picture.* Use maxCells <= 530 and cellSize 1\.$/,
    );
    expect(rasterizeStructure(new Array(30).fill(mid), { maxCells: 530, cellSize: 1 }).width).toBe(16 + 30 * 530 + 29 * 16);
    // Bad snapshots are named.
    expect(() => rasterizeStructure([small, { ...emptySnapshot(4), mask: new Uint8Array(3) }])).toThrow(
      "rasterizeStructure: 'sources[1].mask' must be a Uint8Array of p·p = 16 entries; received 3 entries.",
    );
    await expect(nm.analysis.renderStructurePng({ ...emptySnapshot(4), modules: [[0, 1], [7]] })).rejects.toThrow(
      "renderStructurePng: 'layer.modules[1][0]' must be an integer in [0, 3]; received 7.",
    );
    expect(() =>
      nm.analysis.renderStructure({
        ...emptySnapshot(4),
        modules: [
          [0, 1],
          [1, 2, 3],
        ],
      }),
    ).toThrow(/renderStructure: 'layer\.modules\[1\]\[0\]' must be a node id not listed in an earlier module/);
  });

  it('2. emergentStructure rejects NaN/Inf inputs and options, naming the first bad row', () => {
    const { layer, model } = urnLayer();
    const x = rows(6);
    x[4][1] = NaN;
    x[5][0] = Infinity;
    expect(() => nm.analysis.emergentStructure(layer, x)).toThrow(nm.NonFiniteError);
    expect(() => nm.analysis.emergentStructure(layer, x)).toThrow(
      "emergentStructure: 'inputs' must be finite numbers; received NaN at row 4, column 1 (the first non-finite entry of 6 rows). Clean or impute the data first.",
    );
    const t = tf.tensor2d(x);
    expect(() => nm.analysis.emergentStructure(layer, t)).toThrow(/'inputs' must be finite numbers; received NaN at row 4, column 1/);
    t.dispose();
    expect(() =>
      nm.analysis.emergentStructure(layer, [
        [1, 2, 3],
        [1, 2],
      ]),
    ).toThrow("emergentStructure: 'inputs[1]' must be an array of 3 numbers (one row); received [1, 2].");
    expect(() => nm.analysis.emergentStructure(layer, rows(2), { eps: NaN })).toThrow(
      /emergentStructure: 'eps' must be a finite number in \[0, inf\); received NaN/,
    );
    expect(() =>
      nm.analysis.emergentStructure(layer, rows(2), { positions: Array.from({ length: 8 }, (_, i) => (i === 5 ? [0, NaN, 1] : [0, 0, i])) }),
    ).toThrow("emergentStructure: 'positions[5]' must be [x, y, z] with finite numbers; received [0, NaN, 1].");
    // Clean inputs still work and give a finite prune check.
    const s = nm.analysis.emergentStructure(layer, rows(6));
    expect(Number.isFinite(s.prune.maxDiff)).toBe(true);
    model.dispose();
  });

  it('3. moduleStats validates module sizes and names the bad index', () => {
    expect(() => nm.analysis.moduleStats([NaN])).toThrow("moduleStats: 'sizes[0]' must be an integer >= 1; received NaN.");
    expect(() => nm.analysis.moduleStats([3, 1, 0])).toThrow("moduleStats: 'sizes[2]' must be an integer >= 1; received 0.");
    expect(() => nm.analysis.moduleStats([2, 1.5])).toThrow(/'sizes\[1\]' must be an integer >= 1; received 1\.5/);
    expect(() => nm.analysis.moduleStats(null as never)).toThrow(/moduleStats: 'sizes' must be an array of module sizes/);
    expect(nm.analysis.moduleStats([3, 1, 1, 2])).toMatchObject({ modules: 4, largest: 3, cyclicModules: 2, cyclicNodes: 5 });
  });

  it('4. buildSchedule handles 200k components (no edges, and a chain) without overflowing the stack', () => {
    const p = 200_000;
    const flat = graph.buildSchedule(csrMask(p, () => -1));
    expect(flat.modules.length).toBe(p);
    expect(flat.levels.length).toBe(1);
    expect(flat.largestModule).toBe(1);
    expect(flat.steps).toHaveLength(1);
    const chain = graph.buildSchedule(csrMask(p, (v) => (v + 1 < p ? v + 1 : -1)));
    expect(chain.levels.length).toBe(p);
    expect(chain.largestModule).toBe(1);
    expect(chain.perm[0]).toBe(0);
    expect(chain.perm[p - 1]).toBe(p - 1);
    // One cycle through every node: one module of p nodes.
    const ring = graph.buildSchedule(csrMask(p, (v) => (v + 1) % p));
    expect(ring.largestModule).toBe(p);
    expect(ring.levels.length).toBe(1);
  });

  it('4b. buildSchedule reads the graph a bounded number of times per node and edge (linear work)', () => {
    // Every element read of rowPtr and colIdx is counted; a linear schedule reads each a
    // fixed number of times, so the count per (p + 1 + edges) is the same at every size.
    const readsPerEntry = (mask: graph.EdgeMask) => {
      let reads = 0;
      const counted = <T extends Int32Array>(a: T): T =>
        new Proxy(a, {
          get(target, key) {
            // Element reads come as index strings; methods and `length` do not count.
            if (typeof key === 'string' && key.charCodeAt(0) >= 48 && key.charCodeAt(0) <= 57) reads++;
            const v = Reflect.get(target, key);
            return typeof v === 'function' ? v.bind(target) : v;
          },
        });
      const schedule = graph.buildSchedule({ ...mask, rowPtr: counted(mask.rowPtr), colIdx: counted(mask.colIdx) });
      expect(schedule.perm.length).toBe(mask.p);
      return reads / (mask.p + 1 + mask.colIdx.length);
    };
    const shapes: Record<string, (p: number) => (v: number) => number> = {
      flat: () => () => -1,
      chain: (p) => (v) => (v + 1 < p ? v + 1 : -1),
      ring: (p) => (v) => (v + 1) % p,
      // Half the nodes in 2-cycles, the other half a chain hanging off them.
      mixed: (p) => (v) => (v < p / 2 ? v ^ 1 : v + 1 < p ? v + 1 : 0),
    };
    for (const [name, next] of Object.entries(shapes)) {
      const [small, large] = [2_000, 16_000].map((p) => readsPerEntry(csrMask(p, next(p))));
      expect(large, name).toBeLessThan(8);
      // Eight times the graph, the same reads per entry (up to the +1s of the boundaries).
      expect(Math.abs(large - small), `${name}: ${small} then ${large} reads per entry`).toBeLessThan(0.01);
    }
  });

  it('5. graph and URN picture functions validate their arguments', () => {
    const { layer, model } = urnLayer();
    expect(() => nm.analysis.renderUrnWeights(layer, null as never)).toThrow(
      "renderUrnWeights: 'analysis' must be the result of nm.analysis.emergentStructure(layer, inputs); received null.",
    );
    const pos = Array.from({ length: 8 }, (_, i) => [i % 2, 0, i]);
    expect(() => nm.analysis.renderConnectome(layer, null, { positions: pos.map((q, i) => (i === 2 ? [0, Infinity, 0] : q)) })).toThrow(
      "renderConnectome: 'positions[2]' must be [x, y, z] with finite numbers; received [0, Infinity, 0].",
    );
    expect(nm.analysis.renderConnectome(layer, null, { positions: pos }).startsWith('<svg')).toBe(true);
    expect(() => nm.analysis.structureSnapshot(layer as never)).toThrow(
      'structureSnapshot: \'layer\' must be a built NeuralModule layer (nm.layers.neuralModule); received "an object of class URNLayer".',
    );
    expect(() => crc32(new Uint8Array(4), 0, 9)).toThrow("crc32: 'end' must be an integer in [0, 4]; received 9.");
    model.dispose();

    const rowPtr = Int32Array.of(0, 1, 2);
    expect(() => graph.buildSchedule({ p: 2, mask: new Uint8Array(4), rowPtr, colIdx: Int32Array.of(1, 5), edges: 2, gamma: 0 })).toThrow(
      "buildSchedule: 'colIdx[1]' must be a node id, an integer in [0, 1]; received 5.",
    );
    expect(() => graph.stronglyConnectedComponents(2, Int32Array.of(0, 2, 1), Int32Array.of(1, 0))).toThrow(
      /stronglyConnectedComponents: 'rowPtr\[2\]' must be colIdx\.length = 2 \(row pointers rise from 0 to colIdx\.length\); received 1\./,
    );
    expect(() => graph.stronglyConnectedComponents(3, Int32Array.of(0, 2, 1, 2), Int32Array.of(1, 0))).toThrow(
      "stronglyConnectedComponents: 'rowPtr[2]' must be an integer in [rowPtr[1] = 2, colIdx.length = 2] (row pointers rise from 0 to colIdx.length); received 1.",
    );
    expect(() => graph.stronglyConnectedComponents(-1, Int32Array.of(0), Int32Array.of())).toThrow(
      /stronglyConnectedComponents: 'p' must be an integer >= 0; received -1/,
    );
    expect(() => graph.hopDistances(2, rowPtr, Int32Array.of(1, -1))).toThrow(
      /hopDistances: 'colIdx\[1\]' must be a node id, an integer in \[0, 1\]; received -1/,
    );
    expect(() => graph.buildSchedule(null as never)).toThrow(/buildSchedule: 'mask' must be an edge mask/);
  });
});
