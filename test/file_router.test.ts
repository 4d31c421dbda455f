/**
 * The `file://` router of the Node entry: `model.save('file://dir')` and
 * `tf.loadLayersModel('file://dir/model.json')` in Node without tfjs-node, through
 * nm.io.fileSystem (atomic, tfjs-node's layout), and stepping aside when another
 * file:// router (tfjs-node's) is registered.
 */
import * as tf from '@tensorflow/tfjs';
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as nm from '../src/node.js';

let root: string;
beforeAll(async () => {
  await tf.setBackend('cpu');
  root = await mkdtemp(join(tmpdir(), 'nm-router-'));
});
afterAll(async () => {
  await rm(root, { recursive: true, force: true });
});

const X = tf.tensor2d([
  [0.1, -0.2, 0.3, 0.4],
  [1.5, 0.25, -1.0, 0.0],
  [-0.3, 0.9, 0.05, -1.2],
  [0.7, -0.4, 0.2, 0.3],
]);
const Y = tf.oneHot(tf.tensor1d([0, 1, 2, 1], 'int32'), 3);

function nmModel(): tf.Sequential {
  const model = tf.sequential();
  model.add(nm.layers.neuralModule({ inputShape: [4], units: 8, density: 0.3 }));
  model.add(tf.layers.dense({ units: 3, activation: 'softmax' }));
  model.compile({ optimizer: 'adam', loss: 'categoricalCrossentropy' });
  return model;
}

const predict = (m: tf.LayersModel) => Array.from((m.predict(X) as tf.Tensor).dataSync());

describe('file:// router (Node entry, no tfjs-node)', () => {
  it('is registered once by importing the Node entry', () => {
    expect(nm.io.registerFileRouter()).toBe(false);
    expect(tf.io.getSaveHandlers('file://' + join(root, 'x'))).toHaveLength(1);
    expect(tf.io.getLoadHandlers('file://' + join(root, 'x', 'model.json'))).toHaveLength(1);
    // Other schemes are not ours.
    expect(tf.io.getSaveHandlers('indexeddb://x')).toHaveLength(0);
  });

  it('model.save("file://dir") then tf.loadLayersModel("file://dir/model.json") gives identical predictions', async () => {
    const model = nmModel();
    // modulePartition: the live mask is the partition of the trained graph, as a loaded model's.
    await model.fit(X, Y, { epochs: 2, verbose: 0, callbacks: [nm.callbacks.modulePartition()] });
    const dir = join(root, 'nm');
    const result = await model.save('file://' + dir);
    expect(result.modelArtifactsInfo.modelTopologyType).toBe('JSON');
    // tfjs-node's layout, and no journal files left behind (the atomic saver finished).
    expect((await readdir(dir)).sort()).toEqual(['model.json', 'weights.bin']);
    const json = JSON.parse(await readFile(join(dir, 'model.json'), 'utf8'));
    expect(json.weightsManifest[0].paths).toEqual(['weights.bin']);
    expect(JSON.stringify(json.modelTopology)).toContain('NeuralModule');

    const loaded = await tf.loadLayersModel('file://' + join(dir, 'model.json'));
    expect(predict(loaded)).toEqual(predict(model));
    // The directory form loads too (nm.io.fileSystem accepts both).
    const again = await tf.loadLayersModel('file://' + dir);
    expect(predict(again)).toEqual(predict(model));

    // A second save over the first replaces it atomically and stays loadable.
    await model.fit(X, Y, { epochs: 1, verbose: 0, callbacks: [nm.callbacks.modulePartition()] });
    await model.save('file://' + dir);
    expect((await readdir(dir)).sort()).toEqual(['model.json', 'weights.bin']);
    expect(predict(await tf.loadLayersModel('file://' + join(dir, 'model.json')))).toEqual(predict(model));
  });

  it('steps aside when another file:// router answers (as tfjs-node registers one)', async () => {
    const saved: string[] = [];
    const foreign = (url: string | string[]) =>
      typeof url === 'string' && url.startsWith('file://')
        ? tf.io.withSaveHandler(async (a) => {
            saved.push(url);
            return { modelArtifactsInfo: tf.io.getModelArtifactsInfoForJSON(a) };
          })
        : null;
    tf.io.registerSaveRouter(foreign as Parameters<typeof tf.io.registerSaveRouter>[0]);
    const dir = join(root, 'foreign');
    // One handler, not two (tfjs refuses to save when two routers answer).
    expect(tf.io.getSaveHandlers('file://' + dir)).toHaveLength(1);
    await nmModel().save('file://' + dir);
    expect(saved).toEqual(['file://' + dir]);
    await expect(readdir(dir)).rejects.toThrow(/ENOENT/);
  });
});
