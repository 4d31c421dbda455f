/**
 * bench/structure/pictures.ts: the planted panel is the teacher's own partition and edges
 * (known answer: the teacher's module of every node and its planted edge list), and the
 * comparison is written as an SVG of two panels and a PNG.
 */
import * as tf from '@tensorflow/tfjs';
import '@tensorflow/tfjs-backend-wasm';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as nm from '../src/index.js';
import { makeTeacher } from '../bench/structure/teacher.js';
import { teacherSnapshot, writeComparison } from '../bench/structure/pictures.js';

describe('bench structure pictures', () => {
  const dir = mkdtempSync(join(tmpdir(), 'nm-pictures-'));
  beforeAll(async () => {
    await tf.setBackend('wasm');
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  const teacher = makeTeacher({ k: 4, m: 5, n: 3, inside: 0.3, between: 2, gain: 0.8, seed: 7 });
  const p = teacher.p;
  const density = teacher.edges.length / (p * (p - 1));

  it('draws the planted modules and exactly the planted edges, and frees its tensors', () => {
    const before = tf.memory().numTensors;
    const snap = teacherSnapshot(teacher, 3, density);
    expect(tf.memory().numTensors).toBe(before);
    expect(nm.analysis.adjustedRandIndex(nm.analysis.moduleLabels(snap.modules), teacher.moduleOf)).toBe(1);
    expect(snap.modules.filter((m) => m.length >= 2).map((m) => m.length)).toEqual([5, 5, 5, 5]);
    const kept: number[] = [];
    snap.mask.forEach((v, i) => v === 1 && kept.push(i));
    expect(kept).toEqual([...teacher.edges].sort((a, b) => a - b));
  });

  it('writes the planted and the learned panels as SVG and PNG', async () => {
    const layer = nm.layers.neuralModule({ inputShape: [3], units: p, density });
    const model = tf.sequential();
    model.add(layer);
    const file = await writeComparison(dir, '4x5 seed 7: a/b', teacherSnapshot(teacher, 3, density), layer, 'learned', 'a title');
    model.dispose();
    expect(file).toBe(join(dir, '4x5_seed_7_a_b.svg'));
    const svg = readFileSync(file, 'utf8');
    expect(svg).toContain('id="panel-0"');
    expect(svg).toContain('id="panel-1"');
    expect(svg).toContain('a title');
    expect([...readFileSync(file.replace(/\.svg$/, '.png')).subarray(0, 8)]).toEqual([137, 80, 78, 71, 13, 10, 26, 10]);
  });
});
