import * as tf from '@tensorflow/tfjs';
import { mkdtemp, readFile, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { inflateSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as nm from '../src/index.js';
import { BACKENDS, useBackend } from './helpers/backends.js';
import { expectClose } from './helpers/close.js';
import { N, P, floydWarshall, handLayer, toyData } from './helpers/nm_hand_graph.js';
import { crc32 } from '../src/analysis/png.js';
import * as graph from '../src/graph/index.js';
import { Random } from '../src/utils/random.js';

/** Random CSR graph (duplicates and self loops included on purpose). */
function randomCsr(p: number, edgeProb: number, seed: number) {
  const r = new Random(seed);
  const mask = new Uint8Array(p * p);
  const rowPtr = new Int32Array(p + 1);
  const cols: number[] = [];
  for (let j = 0; j < p; j++) {
    for (let k = 0; k < p; k++) {
      if (r.next() < edgeProb) {
        cols.push(k);
        mask[j * p + k] = 1;
        if (r.next() < 0.05) cols.push(k); // duplicate edge
      }
    }
    rowPtr[j + 1] = cols.length;
  }
  return { rowPtr, colIdx: Int32Array.from(cols), mask };
}

interface SvgModule {
  index: number;
  start: number;
  size: number;
  nodes: number[];
  x: number;
  w: number;
  title: string;
}

function parseModules(svg: string, prefix = ''): SvgModule[] {
  const re = new RegExp(
    `<g id="${prefix}module-(\\d+)" class="module" data-index="\\d+" data-start="(\\d+)" data-size="(\\d+)" data-level="\\d+" data-nodes="([\\d,]*)">\\s*<title>([^<]*)</title>\\s*<rect x="([\\d.]+)" y="([\\d.]+)" width="([\\d.]+)"`,
    'g',
  );
  return Array.from(svg.matchAll(re), (m) => {
    expect(m[6]).toBe(m[7]); // squares sit on the diagonal
    return { index: +m[1], start: +m[2], size: +m[3], nodes: m[4].split(',').map(Number), title: m[5], x: +m[6], w: +m[8] };
  });
}

/** Random graphs (p, edge probability, seed): one node, one and several 32-node batches, sparse to dense, no edges. */
const RANDOM_GRAPHS = [
  [1, 0.5, 1],
  [5, 0.3, 2],
  [33, 0.05, 3],
  [70, 0.02, 4],
  [70, 0.1, 5],
  [100, 0.01, 6],
  [64, 0, 7],
] as const;

describe('hop distances', () => {
  it('match Floyd–Warshall on random graphs (batches of 32 sources, self loops, duplicates)', () => {
    for (const [p, prob, seed] of RANDOM_GRAPHS) {
      const g = randomCsr(p, prob, seed);
      const d = graph.hopDistances(p, g.rowPtr, g.colIdx);
      const ref = floydWarshall(g.mask, p);
      for (let i = 0; i < p * p; i++) expect(d[i] === graph.UNREACHABLE ? Infinity : d[i], `p=${p} pair ${i}`).toBe(ref[i]);
    }
  });

  it('handles long paths at p = 3000', () => {
    const p = 3000;
    const rowPtr = Int32Array.from({ length: p + 1 }, (_, i) => i);
    const colIdx = Int32Array.from({ length: p }, (_, i) => (i + 1) % p);
    const d = graph.hopDistances(p, rowPtr, colIdx);
    expect(d[0 * p + (p - 1)]).toBe(p - 1);
    expect(d[(p - 1) * p + 0]).toBe(1);
    // ~1% density (30 random out-edges per node, E = 90k), as the layer's mask at ρ = 0.01.
    const r = new Random(9);
    const rp = Int32Array.from({ length: p + 1 }, (_, i) => 30 * i);
    const ci = Int32Array.from({ length: 30 * p }, () => r.int(p));
    const dr = graph.hopDistances(p, rp, ci);
    expect(dr[1]).toBeLessThan(10); // speed is measured in the benchmarks, not here
  });

  it('rejects bad input', () => {
    expect(() => graph.hopDistances(2, Int32Array.of(0, 0), new Int32Array(0))).toThrow(/'rowPtr' must have p \+ 1 = 3 entries; received 2/);
    expect(() => graph.hopDistances(70000, new Int32Array(70001), new Int32Array(0))).toThrow(/'p' must be an integer in \[0, 65534\]; received 70000/);
  });
});

describe('component reachability', () => {
  it('matches Floyd–Warshall reachability on random graphs (one and several bitset words, self loops)', () => {
    for (const [p, prob, seed] of RANDOM_GRAPHS) {
      const g = randomCsr(p, prob, seed);
      const r = graph.componentReachability(p, g.rowPtr, g.colIdx);
      const ref = floydWarshall(g.mask, p);
      for (let a = 0; a < p; a++) {
        for (let b = 0; b < p; b++) expect(graph.reaches(r, a, b), `p=${p} ${a} reaches ${b}`).toBe(ref[a * p + b] !== Infinity);
      }
    }
  });

  it('rejects bad input', () => {
    expect(() => graph.componentReachability(2, Int32Array.of(0, 1, 1), Int32Array.of(5))).toThrow(/componentReachability: 'colIdx\[0\]' must be a node id/);
  });
});

describe('module statistics', () => {
  it('balance = largest/mean and Gini by hand', () => {
    const s = nm.analysis.moduleStats([3, 1, 1, 2]);
    expect(s).toMatchObject({ modules: 4, largest: 3, meanSize: 1.75, cyclicModules: 2, cyclicNodes: 5 });
    expect(s.balance).toBeCloseTo(3 / 1.75, 12);
    // Σ_a Σ_b |s_a − s_b| = 2·(0+2+1+2+1+1) = 14; / (2·4²·1.75) = 0.25
    expect(s.gini).toBeCloseTo(0.25, 12);
    expect(nm.analysis.moduleStats([5, 5, 5])).toMatchObject({ balance: 1, gini: 0 });
    expect(nm.analysis.moduleStats([])).toMatchObject({ modules: 0, largest: 0 });
  });
});

describe('structure pictures (cpu)', () => {
  beforeAll(async () => useBackend('cpu'));

  it('the SVG names every module, in the order and at the positions of structure()', () => {
    for (const layer of [handLayer(), handLayer({ density: 0.15 }, 4)]) {
      const s = layer.structure();
      const svg = nm.analysis.renderStructure(layer);
      expect(svg.startsWith('<svg xmlns="http://www.w3.org/2000/svg"')).toBe(true);
      const mods = parseModules(svg);
      expect(mods.length).toBe(s.modules.length);
      const unit = 60; // 600 px / 10 nodes
      let start = 0;
      mods.forEach((m, i) => {
        expect(m.index).toBe(i);
        expect(m.nodes).toEqual(s.modules[i]);
        expect(m.size).toBe(s.moduleSizes[i]);
        expect(m.start).toBe(start);
        expect(m.x).toBeCloseTo(start * unit, 2);
        expect(m.w).toBeCloseTo(m.size * unit, 2);
        expect(m.title).toContain(`module ${i}: ${m.size} node`);
        if (m.size >= 2) expect(svg).toContain(`>M${i} (${m.size})</text>`);
        start += m.size;
      });
      // One dark cell per kept edge, all inside a module square or above the diagonal.
      const edgesGroup = svg.split('<g id="edges" fill="#000">')[1].split('</g>')[0];
      const cells = Array.from(edgesGroup.matchAll(/<rect x="(\d+)" y="(\d+)"/g), (m) => [+m[2] / unit, +m[1] / unit]);
      expect(cells.length).toBe(s.edges);
      const moduleAt = (pos: number) => mods.findIndex((m) => pos >= m.start && pos < m.start + m.size);
      for (const [row, col] of cells) expect(moduleAt(row)).toBeLessThanOrEqual(moduleAt(col));
    }
  });

  it('bins nodes above maxCells, side-by-side panels and bad options', () => {
    const layer = handLayer();
    const svg = nm.analysis.renderStructure(layer, { maxCells: 5, cellSize: 10 });
    const mods = parseModules(svg);
    expect(mods.length).toBe(layer.structure().modules.length);
    expectClose(
      mods.map((m) => m.x),
      mods.map((m) => m.start * 5),
      { atol: 5e-3 },
      'binned module x',
    ); // 10 px · 5 cells / 10 nodes
    const first = nm.analysis.structureSnapshot(layer, 'before');
    const both = nm.analysis.renderStructureSideBySide([first, layer]);
    expect(parseModules(both, 'panel-0-').length).toBe(mods.length);
    expect(parseModules(both, 'panel-1-').length).toBe(mods.length);
    expect(both).toContain('before: ');
    expect(() => nm.analysis.renderStructure(layer, { cellSize: 0 })).toThrow(/renderStructure: 'cellSize' must be an integer in \[1, 64\]; received 0/);
    expect(() => nm.analysis.renderStructure(layer, { colour: 'red' } as never)).toThrow(/unknown option 'colour'/);
    expect(() => nm.analysis.renderStructure({} as never)).toThrow(/'layer' must be a built NeuralModule layer or a snapshot/);
  });

  it('PNG: valid chunks and CRCs, every cell coloured as the known layout says', async () => {
    expect(crc32(new TextEncoder().encode('123456789'))).toBe(0xcbf43926);
    const layer = handLayer();
    const png = await nm.analysis.renderStructurePng(layer, { cellSize: 6 });
    expect(Array.from(png.subarray(0, 8))).toEqual([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);
    const view = new DataView(png.buffer, png.byteOffset);
    let off = 8;
    const chunks: Record<string, Uint8Array> = {};
    while (off < png.length) {
      const len = view.getUint32(off);
      const type = String.fromCharCode(...png.subarray(off + 4, off + 8));
      expect(view.getUint32(off + 8 + len)).toBe(crc32(png, off + 4, off + 8 + len));
      chunks[type] = png.subarray(off + 8, off + 8 + len);
      off += 12 + len;
    }
    expect(Object.keys(chunks)).toEqual(['IHDR', 'IDAT', 'IEND']);
    const ihdr = new DataView(chunks.IHDR.buffer, chunks.IHDR.byteOffset);
    const width = ihdr.getUint32(0);
    const height = ihdr.getUint32(4);
    expect([width, height]).toEqual([8 + 60 + 8, 8 + 60 + 8]);
    const raw = inflateSync(chunks.IDAT);
    expect(raw.length).toBe((width * 3 + 1) * height);
    const px = (x: number, y: number) => Array.from(raw.subarray(y * (width * 3 + 1) + 1 + x * 3, y * (width * 3 + 1) + 4 + x * 3));
    const s = layer.structure();
    // Every cell, from the layout alone (margin 8 px, 6 px per node, nodes in module order):
    // the centre of cell (row r, column c) is white, tinted 10 % red inside a module of ≥ 2
    // nodes, and darkened by a kept edge order[r] → order[c] (ink ≥ 0.25, so ≤ 75 % of it).
    const cellOrder = s.modules.flat();
    const moduleOf = new Map<number, number>();
    s.modules.forEach((m, i) => m.forEach((v) => moduleOf.set(v, i)));
    const keep = layer.edges().mask;
    const red10 = [214, 39, 40].map((v) => Math.round(255 * 0.9 + v * 0.1));
    let darkCells = 0;
    for (let r = 0; r < P; r++) {
      for (let c = 0; c < P; c++) {
        const [a, b] = [cellOrder[r], cellOrder[c]];
        const inModule = moduleOf.get(a) === moduleOf.get(b) && s.modules[moduleOf.get(a)!].length >= 2;
        const base = inModule ? red10 : [255, 255, 255];
        const got = px(8 + c * 6 + 3, 8 + r * 6 + 3);
        if (a !== b && keep[a * P + b]) {
          darkCells++;
          got.forEach((v, ch) => expect(v, `edge cell (${r}, ${c}) channel ${ch}`).toBeLessThanOrEqual(Math.round(base[ch] * 0.75)));
        } else {
          expect(got, `empty cell (${r}, ${c})`).toEqual(base);
        }
      }
    }
    expect(darkCells).toBe(s.edges);
    expect(px(2, 2)).toEqual([255, 255, 255]); // margin
    // The first module of size ≥ 2 has a red top-left corner; its first kept edge cell is dark.
    const i = s.moduleSizes.findIndex((z) => z >= 2);
    const start = s.moduleSizes.slice(0, i).reduce((a, b) => a + b, 0);
    expect(px(8 + start * 6, 8 + start * 6)).toEqual([214, 39, 40]);
    const order = s.modules.flat();
    const mask = layer.edges().mask;
    const [r, c] = (() => {
      for (const a of s.modules[i]) for (const b of s.modules[i]) if (mask[a * P + b]) return [order.indexOf(a), order.indexOf(b)];
      throw new Error('no edge');
    })();
    expect(px(8 + c * 6 + 3, 8 + r * 6 + 3)[0]).toBeLessThan(200);
    const pair = await nm.analysis.renderStructurePngSideBySide([layer, layer], { cellSize: 6 });
    expect(new DataView(pair.buffer, pair.byteOffset).getUint32(16)).toBe(8 + 60 + 16 + 60 + 8);
  });
});

describe.each(BACKENDS)('structure callbacks on %s', (backend) => {
  beforeAll(async () => useBackend(backend));
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'nm-structure-'));
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
    tf.disposeVariables();
  });

  function model(graphRegularizer: tf.serialization.Serializable | null, name: string) {
    const layer = handLayer({ graphRegularizer: graphRegularizer as never, name });
    const m = tf.sequential();
    m.add(tf.layers.inputLayer({ inputShape: [N] }));
    m.add(layer);
    m.add(tf.layers.dense({ units: 3, activation: 'softmax' }));
    m.compile({ optimizer: tf.train.sgd(0), loss: 'categoricalCrossentropy' }); // lr 0: the modules stay the hand-built ones
    return { m, layer };
  }

  it('nmAlphaSchedule raises α on nodes of modules above targetSize and relaxes it elsewhere', async () => {
    const reg = nm.regularizers.nm({ alpha: 0.1, form: 'size' });
    const { m } = model(reg, `sched_${backend}`);
    const { x, y } = toyData(16, N, 1);
    const sched = nm.callbacks.nmAlphaSchedule({ targetSize: 2, factor: 2, min: 0.25, max: 3 });
    const h = await m.fit(x, y, { epochs: 2, batchSize: 8, verbose: 0, callbacks: [nm.callbacks.modulePartition(), sched] });
    // Modules {0,1,2} (size 3 > 2): 1 → 2 → 3 (capped); everything else: 1 → 0.5 → 0.25.
    const mult = Array.from(reg.nodeMultipliers()!);
    expect(mult).toEqual([3, 3, 3, 0.25, 0.25, 0.25, 0.25, 0.25, 0.25, 0.25]);
    expect(h.history.nm_alpha_largest.map(Number)).toEqual([expect.closeTo(0.2, 6), expect.closeTo(0.3, 6)]);
    expect(h.history.nm_alpha_max[1] as number).toBeCloseTo(0.3, 6);
    expect(h.history.nm_alpha_mean[0] as number).toBeCloseTo((0.1 * (3 * 2 + 7 * 0.5)) / 10, 6);
    // The coefficients follow: size form C[j,k] = α·m_k·z_k.
    const c = reg.coefficients()!;
    expect(c[3 * P + 0]).toBeCloseTo(0.1 * 3 * 3, 5);
    expect(c[0 * P + 4]).toBeCloseTo(0.1 * 0.25 * 2, 5);
    expect(() => nm.callbacks.nmAlphaSchedule({ factor: 1 })).toThrow(/nmAlphaSchedule: 'factor' must be a finite number in \(1, inf\); received 1/);
    expect(() => nm.callbacks.nmAlphaSchedule({ min: 2, max: 3 })).toThrow(/must bracket the starting multiplier 1/);
    expect(() => nm.callbacks.nmAlphaSchedule({ targetSize: 0 })).toThrow(/'targetSize' must be an integer >= 1; received 0/);
    const plain = model(null, `plain_${backend}`).m;
    await expect(plain.fit(x, y, { epochs: 1, verbose: 0, callbacks: [nm.callbacks.nmAlphaSchedule()] })).rejects.toThrow(
      /no NeuralModule layer with an nm\(\) graphRegularizer/,
    );
  });

  it('structureLogger writes the statistics into history and the pictures into dir', async () => {
    const name = `logged_${backend}`;
    const { m, layer } = model(nm.regularizers.offDiagonalL1({ l1: 0.01 }), name);
    const { x, y } = toyData(16, N, 2);
    const logger = nm.callbacks.structureLogger({ dir: join(dir, backend), every: 1 });
    const h = await m.fit(x, y, { epochs: 2, batchSize: 8, verbose: 0, callbacks: [nm.callbacks.modulePartition(), logger] });
    const s = layer.structure();
    const st = nm.analysis.moduleStats(s.moduleSizes);
    for (const key of ['nm_modules', 'nm_largest', 'nm_cyclic', 'nm_balance', 'nm_gini', 'nm_edges', 'nm_gamma', 'nm_fwd_iters', 'nm_bwd_iters']) {
      expect(h.history[key], key).toHaveLength(2);
    }
    expect(h.history.nm_modules[1]).toBe(s.modules.length);
    expect(h.history.nm_largest[1]).toBe(3);
    expect(h.history.nm_balance[1]).toBeCloseTo(st.balance, 10);
    expect(h.history.nm_gini[1]).toBeCloseTo(st.gini, 10);
    expect(h.history.nm_edges[1]).toBe(s.edges);
    expect(h.history.nm_gamma[1]).toBeCloseTo(s.gamma, 10);
    expect(h.history.nm_fwd_iters[1] as number).toBeGreaterThan(0);
    expect(logger.records.map((r) => r.epoch)).toEqual([1, 2]);
    const files = (await readdir(join(dir, backend))).sort();
    const expected = ['epoch000', 'epoch001', 'epoch002', 'first_vs_last'].flatMap((e) => [`${name}_${e}.png`, `${name}_${e}.svg`]);
    expect(files).toEqual(expected.sort());
    const svg = await readFile(join(dir, backend, `${name}_first_vs_last.svg`), 'utf8');
    expect(svg).toContain('before training');
    expect(svg).toContain('epoch 2');
    expect(parseModules(svg, 'panel-1-').map((mm) => mm.nodes)).toEqual(s.modules);
    const png = await readFile(join(dir, backend, `${name}_epoch002.png`));
    expect(Array.from(png.subarray(1, 4))).toEqual([0x50, 0x4e, 0x47]);
    expect(() => nm.callbacks.structureLogger({ every: 0 })).toThrow(/structureLogger: 'every' must be an integer >= 1; received 0/);
    expect(() => nm.callbacks.structureLogger({ formats: ['gif' as never] })).toThrow(/'formats' must be an array of 'svg' and\/or 'png'; received \["gif"\]/);
    expect(() => nm.callbacks.structureLogger({ dir: '' })).toThrow(/'dir' must be a non-empty directory path/);
  });
});
