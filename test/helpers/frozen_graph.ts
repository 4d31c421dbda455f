/**
 * A small frozen feature extractor as tfjs-converter would produce it from a
 * TensorFlow SavedModel, built by hand (there is no Python TensorFlow here):
 *
 *   x: Placeholder [-1, inputDim] → MatMul(x, W: Const) → BiasAdd(·, b: Const) → Relu
 *
 * `modelTopology` is the GraphDef in its JSON form (the `node` list with TF attr
 * protos: `{ type: 'DT_FLOAT' }`, `{ shape: { dim: [{ size: '-1' }] } }`, `{ b: false }`,
 * base64 strings in `s`), weights are listed by their Const node names.
 */
import * as tf from '@tensorflow/tfjs';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Random } from '../../src/utils/random.js';

export interface FrozenExtractor {
  /** The artifacts of a `format: 'graph-model'` model (weights in one buffer). */
  artifacts: tf.io.ModelArtifacts;
  /** W, row-major `inputDim × outputDim`. */
  kernel: Float32Array;
  /** b, `outputDim`. */
  bias: Float32Array;
  inputDim: number;
  outputDim: number;
  /** Node names of the input placeholder and the output. */
  inputName: string;
  outputName: string;
}

const FLOAT = { type: 'DT_FLOAT' };
const dims = (shape: number[]) => ({ dim: shape.map((d) => ({ size: String(d) })) });
const base64 = (s: string) => Buffer.from(s, 'utf8').toString('base64');

/** Builds the extractor with seeded He-normal weights and small non-zero biases. */
export function frozenExtractor(inputDim: number, outputDim: number, seed = 1): FrozenExtractor {
  const rng = new Random(seed);
  const scale = Math.sqrt(2 / inputDim);
  const kernel = Float32Array.from({ length: inputDim * outputDim }, () => rng.normal() * scale);
  const bias = Float32Array.from({ length: outputDim }, () => 0.1 * rng.normal());
  const modelTopology = {
    node: [
      { name: 'features/x', op: 'Placeholder', attr: { dtype: FLOAT, shape: { shape: dims([-1, inputDim]) } } },
      {
        name: 'features/dense/kernel',
        op: 'Const',
        attr: { dtype: FLOAT, value: { tensor: { dtype: 'DT_FLOAT', tensorShape: dims([inputDim, outputDim]) } } },
      },
      {
        name: 'features/dense/bias',
        op: 'Const',
        attr: { dtype: FLOAT, value: { tensor: { dtype: 'DT_FLOAT', tensorShape: dims([outputDim]) } } },
      },
      {
        name: 'features/dense/MatMul',
        op: 'MatMul',
        input: ['features/x', 'features/dense/kernel'],
        attr: { T: FLOAT, transpose_a: { b: false }, transpose_b: { b: false } },
      },
      {
        name: 'features/dense/BiasAdd',
        op: 'BiasAdd',
        input: ['features/dense/MatMul', 'features/dense/bias'],
        attr: { T: FLOAT, data_format: { s: base64('NHWC') } },
      },
      { name: 'features/dense/Relu', op: 'Relu', input: ['features/dense/BiasAdd'], attr: { T: FLOAT } },
    ],
    library: {},
    versions: { producer: 1482 },
  };
  const weightSpecs: tf.io.WeightsManifestEntry[] = [
    { name: 'features/dense/kernel', shape: [inputDim, outputDim], dtype: 'float32' },
    { name: 'features/dense/bias', shape: [outputDim], dtype: 'float32' },
  ];
  const weightData = new Uint8Array(4 * (kernel.length + bias.length));
  weightData.set(new Uint8Array(kernel.buffer), 0);
  weightData.set(new Uint8Array(bias.buffer), 4 * kernel.length);
  return {
    artifacts: {
      modelTopology,
      format: 'graph-model',
      generatedBy: '2.15.0',
      convertedBy: 'TensorFlow.js Converter v4.22.0',
      weightSpecs,
      weightData: weightData.buffer,
    },
    kernel,
    bias,
    inputDim,
    outputDim,
    inputName: 'features/x',
    outputName: 'features/dense/Relu',
  };
}

/**
 * Writes the artifacts in the layout `tensorflowjs_converter` produces: `model.json`
 * (format, generatedBy, convertedBy, modelTopology, weightsManifest) and the weights
 * split into `group1-shardKofN.bin` files of at most `shardBytes` bytes.
 */
export async function writeConverterLayout(dir: string, artifacts: tf.io.ModelArtifacts, shardBytes = 4096): Promise<string[]> {
  await mkdir(dir, { recursive: true });
  const data = new Uint8Array(artifacts.weightData as ArrayBuffer);
  const count = Math.max(1, Math.ceil(data.byteLength / shardBytes));
  const paths = Array.from({ length: count }, (_, i) => `group1-shard${i + 1}of${count}.bin`);
  for (let i = 0; i < count; i++) {
    await writeFile(join(dir, paths[i]), data.subarray(i * shardBytes, Math.min(data.byteLength, (i + 1) * shardBytes)));
  }
  const modelJson = {
    format: artifacts.format,
    generatedBy: artifacts.generatedBy,
    convertedBy: artifacts.convertedBy,
    modelTopology: artifacts.modelTopology,
    weightsManifest: [{ paths, weights: artifacts.weightSpecs }],
  };
  await writeFile(join(dir, 'model.json'), JSON.stringify(modelJson));
  return paths;
}
