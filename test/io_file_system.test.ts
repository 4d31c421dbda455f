import * as tf from '@tensorflow/tfjs';
import { execFile } from 'node:child_process';
import { mkdtemp, readFile, readdir, rm, truncate, unlink, writeFile, rename as fsRename } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { basename, join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ModelFileError, fileSystem } from '../src/io/index.js';
import { useBackend } from './helpers/backends.js';

const run = promisify(execFile);
const ROOT = resolve(import.meta.dirname, '..');
const INPUT = [
  [0.1, -0.2, 0.3, 0.4, -0.5, 0.6],
  [1.5, 0.25, -1.0, 0.0, 2.0, -0.75],
  [-0.3, 0.9, 0.05, -1.2, 0.4, 0.8],
];

let root: string;
beforeAll(async () => {
  await useBackend('cpu');
  root = await mkdtemp(join(tmpdir(), 'nm-io-'));
});
afterAll(async () => {
  await rm(root, { recursive: true, force: true });
});

let counter = 0;
const freshDir = () => join(root, `m${counter++}`);

/** A small deterministic model: dense(6→5, tanh) → dense(5→3, softmax), compiled. */
function makeModel(seed: number): tf.LayersModel {
  const model = tf.sequential();
  model.add(tf.layers.dense({ inputShape: [6], units: 5, activation: 'tanh', kernelInitializer: tf.initializers.glorotUniform({ seed }) }));
  model.add(tf.layers.dense({ units: 3, activation: 'softmax', kernelInitializer: tf.initializers.glorotUniform({ seed: seed + 1 }) }));
  model.compile({ optimizer: 'adam', loss: 'categoricalCrossentropy', metrics: ['accuracy'] });
  // Non-zero biases, so that every weight's bytes matter.
  model.setWeights(model.getWeights().map((w, i) => (w.rank === 1 ? tf.fill(w.shape, 0.1 * (i + 1) + seed * 0.01) : w)));
  return model;
}

function predict(model: tf.LayersModel): number[] {
  return Array.from((model.predict(tf.tensor2d(INPUT)) as tf.Tensor).dataSync());
}

/** Artifacts exactly as model.save hands them to an IOHandler. */
async function artifactsOf(model: tf.LayersModel): Promise<tf.io.ModelArtifacts> {
  let captured: tf.io.ModelArtifacts | undefined;
  await model.save(
    tf.io.withSaveHandler(async (a) => {
      captured = a;
      return { modelArtifactsInfo: { dateSaved: new Date(), modelTopologyType: 'JSON' } };
    }),
  );
  return captured!;
}

/** Loads `dir` in a new Node process and returns its structure and predictions. */
async function loadInFreshProcess(dir: string): Promise<{ structure: unknown; predictions: number[] }> {
  const script = join(ROOT, 'test/helpers/load_predict.ts');
  const { stdout } = await run(process.execPath, ['--import', 'tsx', script, dir, JSON.stringify(INPUT)], { cwd: ROOT });
  return JSON.parse(stdout.trim().split('\n').pop()!);
}

function structureOf(model: tf.LayersModel) {
  return model.layers.map((l) => ({ className: l.getClassName(), name: l.name, weights: l.getWeights().map((w) => w.shape) }));
}

async function loadError(dir: string): Promise<ModelFileError> {
  const err = await tf.loadLayersModel(fileSystem(dir)).then(
    () => null,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(ModelFileError);
  return err as ModelFileError;
}

describe('nm.io.fileSystem: saving', () => {
  it('writes exactly model.json + weights.bin in the tfjs-node layout, creating the directory', async () => {
    const model = makeModel(1);
    const dir = join(freshDir(), 'nested', 'deeper');
    const result = await model.save(fileSystem(dir));
    expect(result.modelArtifactsInfo.modelTopologyType).toBe('JSON');
    expect((await readdir(dir)).sort()).toEqual(['model.json', 'weights.bin']);

    // model.json is byte-identical to what tfjs-node's NodeFileSystem.save writes.
    const a = await artifactsOf(model);
    const tfjsNodeJson = JSON.stringify({
      modelTopology: a.modelTopology,
      weightsManifest: [{ paths: ['weights.bin'], weights: a.weightSpecs }],
      format: a.format,
      generatedBy: a.generatedBy,
      convertedBy: a.convertedBy,
      trainingConfig: a.trainingConfig,
    });
    const text = await readFile(join(dir, 'model.json'), 'utf8');
    expect(text).toBe(tfjsNodeJson);
    const json = JSON.parse(text);
    expect(Object.keys(json)).toEqual(['modelTopology', 'weightsManifest', 'format', 'generatedBy', 'convertedBy']);
    expect(json.format).toBe('layers-model');
    expect(json.convertedBy).toBeNull();
    expect(json.generatedBy).toMatch(/^TensorFlow\.js tfjs-layers v/);
    expect(json.weightsManifest).toHaveLength(1);
    expect(json.weightsManifest[0].paths).toEqual(['weights.bin']);
    const weights = model.getWeights();
    expect(json.weightsManifest[0].weights.map((s: tf.io.WeightsManifestEntry) => s.shape)).toEqual(weights.map((w) => w.shape));
    expect(json.weightsManifest[0].weights.every((s: tf.io.WeightsManifestEntry) => s.dtype === 'float32')).toBe(true);

    // weights.bin: the float32 data of every weight, concatenated in manifest order.
    const bin = await readFile(join(dir, 'weights.bin'));
    const expectedBytes = weights.reduce((n, w) => n + w.size * 4, 0);
    expect(bin.byteLength).toBe(expectedBytes);
    const concatenated = new Float32Array(weights.reduce((n, w) => n + w.size, 0));
    let offset = 0;
    for (const w of weights) {
      concatenated.set(w.dataSync() as Float32Array, offset);
      offset += w.size;
    }
    expect(Buffer.compare(bin, Buffer.from(concatenated.buffer))).toBe(0);
  });

  it('writes trainingConfig, optimizer weights, userDefinedMetadata and initializer fields, in tfjs-node order', async () => {
    const model = makeModel(2);
    await model.fit(tf.tensor2d(INPUT), tf.oneHot(tf.tensor1d([0, 1, 2], 'int32'), 3), { epochs: 1, verbose: 0 });
    model.setUserDefinedMetadata({ author: { name: 'test' } });
    const dir = freshDir();
    await model.save(fileSystem(dir), { includeOptimizer: true });
    const text = await readFile(join(dir, 'model.json'), 'utf8');
    const json = JSON.parse(text);
    expect(Object.keys(json)).toEqual(['modelTopology', 'weightsManifest', 'format', 'generatedBy', 'convertedBy', 'trainingConfig', 'userDefinedMetadata']);
    expect(json.userDefinedMetadata).toEqual({ author: { name: 'test' } });
    expect(json.trainingConfig.loss).toBe('categorical_crossentropy');
    const specs: tf.io.WeightsManifestEntry[] = json.weightsManifest[0].weights;
    expect(specs.some((s) => s.group === 'optimizer')).toBe(true);
    const bin = await readFile(join(dir, 'weights.bin'));
    expect(bin.byteLength).toBe(specs.reduce((n, s) => n + s.shape.reduce((a, b) => a * b, 1) * 4, 0));
    // Reloading restores the optimizer state too (tfjs-layers reads the 'optimizer' group).
    const loaded = await tf.loadLayersModel(fileSystem(dir));
    expect(predict(loaded)).toEqual(predict(model));
    expect(loaded.optimizer).not.toBeNull();

    const artifacts = { ...(await artifactsOf(model)), modelInitializer: { node: [] }, initializerSignature: { outputs: {} } };
    const dir2 = freshDir();
    await fileSystem(dir2).save!(artifacts);
    const artifacts2 = await fileSystem(dir2).load!();
    expect(artifacts2.modelInitializer).toEqual({ node: [] });
    expect(artifacts2.initializerSignature).toEqual({ outputs: {} });
    expect(artifacts2.userDefinedMetadata).toEqual({ author: { name: 'test' } });
  });

  it('refuses to save into a path that is a file, naming it', async () => {
    const file = join(root, 'plain-file');
    await writeFile(file, 'x');
    await expect(makeModel(3).save(fileSystem(file))).rejects.toThrow(/plain-file' exists and is not a directory/);
  });

  it('rejects a bad dir argument and unknown options', () => {
    expect(() => fileSystem('')).toThrow(/'dir' must be a non-empty directory path; received ""/);
    expect(() => fileSystem('x', { fss: {} } as never)).toThrow(/unknown option 'fss'/);
  });
});

describe('nm.io.fileSystem: loading', () => {
  it('loads in a fresh process with identical predictions and structure', async () => {
    const model = makeModel(4);
    const dir = freshDir();
    await model.save(fileSystem(dir));
    const fresh = await loadInFreshProcess(dir);
    expect(fresh.predictions).toEqual(predict(model));
    expect(fresh.structure).toEqual(structureOf(model));
    // Also accepts the model.json path itself, like tfjs-node's file:// handler.
    const again = await tf.loadLayersModel(fileSystem(join(dir, 'model.json')));
    expect(predict(again)).toEqual(predict(model));
  });

  it('loads a hand-written multi-group, multi-shard layout (as tfjs-converter writes)', async () => {
    const model = makeModel(5);
    const a = await artifactsOf(model);
    const bytes = new Uint8Array(tf.io.CompositeArrayBuffer.join(a.weightData!));
    const specs = a.weightSpecs!;
    // Group 1: the first two weights in three unaligned shards; group 2: the rest in one shard.
    const split = (specs[0].shape.reduce((x, y) => x * y, 1) + specs[1].shape.reduce((x, y) => x * y, 1)) * 4;
    const g1 = bytes.slice(0, split);
    const g2 = bytes.slice(split);
    const dir = freshDir();
    await fileSystem(dir).save!(a); // creates dir; then overwrite with the converter layout
    await unlink(join(dir, 'weights.bin'));
    const shards: Array<[string, Uint8Array]> = [
      ['group1-shard1of3.bin', g1.slice(0, 7)],
      ['group1-shard2of3.bin', g1.slice(7, 50)],
      ['group1-shard3of3.bin', g1.slice(50)],
      ['group2-shard1of1.bin', g2],
    ];
    for (const [name, data] of shards) await writeFile(join(dir, name), data);
    await writeFile(
      join(dir, 'model.json'),
      JSON.stringify({
        format: 'layers-model',
        generatedBy: 'hand-written',
        convertedBy: 'TensorFlow.js Converter (simulated)',
        modelTopology: a.modelTopology,
        weightsManifest: [
          { paths: shards.slice(0, 3).map((s) => s[0]), weights: specs.slice(0, 2) },
          { paths: [shards[3][0]], weights: specs.slice(2) },
        ],
      }),
    );
    const loaded = await tf.loadLayersModel(fileSystem(dir));
    expect(predict(loaded)).toEqual(predict(model));
    expect((await fileSystem(dir).load!()).convertedBy).toBe('TensorFlow.js Converter (simulated)');
  });

  it('names model.json when it is missing, corrupt or not a model', async () => {
    const missingDir = join(freshDir(), 'nope');
    const e1 = await loadError(missingDir);
    expect(e1.file).toBe(join(missingDir, 'model.json'));
    expect(e1.message).toContain(`'${join(missingDir, 'model.json')}' does not exist`);

    const dir = freshDir();
    await makeModel(6).save(fileSystem(dir));
    const modelFile = join(dir, 'model.json');
    const good = await readFile(modelFile, 'utf8');

    await writeFile(modelFile, good.slice(0, good.length / 2));
    const e2 = await loadError(dir);
    expect(e2.file).toBe(modelFile);
    expect(e2.message).toMatch(new RegExp(`model file '${modelFile.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}' is not valid JSON`));

    await writeFile(modelFile, '');
    expect((await loadError(dir)).message).toContain(`'${modelFile}' is empty`);

    await writeFile(modelFile, JSON.stringify({ modelTopology: {}, weightsManifest: { paths: 'weights.bin' } }));
    expect((await loadError(dir)).message).toMatch(/is not a valid tfjs model.json: 'weightsManifest' must be an array/);

    await writeFile(modelFile, '[1, 2]');
    expect((await loadError(dir)).message).toMatch(/model.json' is not a valid tfjs model.json: its top level must be a JSON object/);

    await unlink(modelFile);
    const e3 = await loadError(dir);
    expect(e3.file).toBe(modelFile);
    expect(e3.message).toContain('does not exist');
  });

  it('names the weights file when it is missing or truncated', async () => {
    const dir = freshDir();
    const model = makeModel(7);
    await model.save(fileSystem(dir));
    const weightsFile = join(dir, 'weights.bin');
    const size = model.getWeights().reduce((n, w) => n + w.size * 4, 0);

    await truncate(weightsFile, size - 4);
    const e1 = await loadError(dir);
    expect(e1.file).toBe(weightsFile);
    expect(e1.message).toContain(`need ${size} bytes but their file hold ${size - 4} ('${weightsFile}' has ${size - 4} bytes)`);

    await writeFile(weightsFile, Buffer.alloc(size + 8));
    expect((await loadError(dir)).message).toContain(`hold ${size + 8}`);

    await unlink(weightsFile);
    const e2 = await loadError(dir);
    expect(e2.file).toBe(weightsFile);
    expect(e2.message).toContain(`weights file '${weightsFile}' (listed in weightsManifest[0].paths[0] of '${join(dir, 'model.json')}') does not exist`);
  });
});

describe('nm.io.fileSystem: interrupted saves keep the previous model', () => {
  async function savedDir(model: tf.LayersModel): Promise<string> {
    const dir = freshDir();
    await model.save(fileSystem(dir));
    return dir;
  }

  it('rolls back when renaming model.json into place fails', async () => {
    const oldModel = makeModel(8);
    const dir = await savedDir(oldModel);
    const newModel = makeModel(9); // same shapes: a mix-up would load silently wrong weights
    const failing = fileSystem(dir, {
      fs: {
        async rename(from, to) {
          if (basename(to) === 'model.json') throw Object.assign(new Error('EIO: simulated I/O error'), { code: 'EIO' });
          await fsRename(from, to);
        },
      },
    });
    const err = await newModel.save(failing).then(
      () => null,
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(ModelFileError);
    expect((err as ModelFileError).file).toBe(join(dir, 'model.json'));
    expect((err as Error).message).toMatch(/writing '.*model\.json' failed: EIO: simulated I\/O error\. The previous model .* is unchanged/);
    expect((await readdir(dir)).sort()).toEqual(['model.json', 'weights.bin']);
    expect(predict(await tf.loadLayersModel(fileSystem(dir)))).toEqual(predict(oldModel));
  });

  it('leaves the old model intact when writing the weights fails', async () => {
    const oldModel = makeModel(10);
    const dir = await savedDir(oldModel);
    const failing = fileSystem(dir, {
      fs: {
        writeFileDurable: async () => {
          throw Object.assign(new Error('ENOSPC: no space left on device'), { code: 'ENOSPC' });
        },
      },
    });
    await expect(makeModel(11).save(failing)).rejects.toThrow(/weights\.bin\.tmp-.*failed: ENOSPC/);
    expect((await readdir(dir)).sort()).toEqual(['model.json', 'weights.bin']);
    expect(predict(await tf.loadLayersModel(fileSystem(dir)))).toEqual(predict(oldModel));
  });

  it('survives a process killed between replacing weights.bin and model.json', async () => {
    const oldModel = makeModel(12);
    const dir = await savedDir(oldModel);
    const oldWeights = await readFile(join(dir, 'weights.bin'));
    const script = join(ROOT, 'test/helpers/crash_save.ts');
    const crash = await run(process.execPath, ['--import', 'tsx', script, dir], { cwd: ROOT }).then(
      () => null,
      (e: { signal?: string }) => e,
    );
    expect(crash?.signal).toBe('SIGKILL');
    const entries = await readdir(dir);
    expect(entries.some((n) => /^model\.json\.tmp-/.test(n))).toBe(true);
    expect(entries.some((n) => /^weights\.bin\.prev-/.test(n))).toBe(true);
    // weights.bin already holds the new (doubled) weights: a naive loader would mix them with the old model.json.
    expect(Buffer.compare(await readFile(join(dir, 'weights.bin')), oldWeights)).not.toBe(0);

    // The old model.json is still in place and loads with its own weights, in a fresh process too.
    expect(predict(await tf.loadLayersModel(fileSystem(dir)))).toEqual(predict(oldModel));
    expect((await loadInFreshProcess(dir)).predictions).toEqual(predict(oldModel));

    // The next save cleans up the journal and commits normally.
    const newModel = makeModel(13);
    await newModel.save(fileSystem(dir));
    expect((await readdir(dir)).sort()).toEqual(['model.json', 'weights.bin']);
    expect(predict(await tf.loadLayersModel(fileSystem(dir)))).toEqual(predict(newModel));
  });
});
