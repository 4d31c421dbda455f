/**
 * Pictures for the planted benchmark (planted.ts `--pictures <dir>`): the teacher's planted
 * modules beside the student's learned ones, drawn by the library's own
 * `nm.analysis.renderStructureSideBySide` (adjacency matrix ordered by module, every
 * module a square on the diagonal).
 */
import * as tf from '@tensorflow/tfjs';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import * as nm from 'tfjs-neural-modules';
import type { Teacher } from './teacher.js';

/** Puts the teacher's input kernel and graph into a built layer of its p nodes and re-partitions it (the `oracle` arm, `+from:teacher`). */
export function setTeacherWeights(layer: nm.layers.NeuralModuleLayer, teacher: Teacher, nInputs: number): void {
  const own = [tf.tensor2d(Float32Array.from(teacher.input), [nInputs, teacher.p]), tf.tensor2d(Float32Array.from(teacher.graph), [teacher.p, teacher.p])];
  layer.setWeights([...own, ...layer.getWeights().slice(2)]);
  tf.dispose(own);
  layer.repartition();
}

/** The teacher's graph in a NeuralModule layer of its own (the `oracle` arm's layer), as a snapshot. */
export function teacherSnapshot(teacher: Teacher, nInputs: number, density: number): nm.analysis.StructureSnapshot {
  const layer = nm.layers.neuralModule({ inputShape: [nInputs], units: teacher.p, density });
  const model = tf.sequential();
  model.add(layer);
  setTeacherWeights(layer, teacher, nInputs);
  const snap = nm.analysis.structureSnapshot(layer, 'planted');
  model.dispose();
  return snap;
}

/** Writes `<dir>/<name>.svg` and `.png`: the planted modules (left) and the student's (right); returns the SVG's path. */
export async function writeComparison(
  dir: string,
  name: string,
  planted: nm.analysis.StructureSnapshot,
  student: nm.layers.NeuralModuleLayer,
  caption: string,
  title: string,
): Promise<string> {
  mkdirSync(dir, { recursive: true });
  const panels = [planted, nm.analysis.structureSnapshot(student, caption)];
  const base = join(dir, name.replace(/[^A-Za-z0-9.]+/g, '_'));
  writeFileSync(`${base}.svg`, nm.analysis.renderStructureSideBySide(panels, { title }));
  writeFileSync(`${base}.png`, await nm.analysis.renderStructurePngSideBySide(panels, { title }));
  return `${base}.svg`;
}
