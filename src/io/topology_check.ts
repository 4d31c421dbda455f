/**
 * Checks of a model.json topology before tfjs builds the model from it: layer
 * classes that are not registered (tfjs' generic "Unknown layer: X", rethrown with
 * the fix), and a missing `weightsManifest` for a topology that has weights (tfjs
 * would silently use freshly initialized weights).
 */
import * as tf from '@tensorflow/tfjs-core';
import { loadLayersModel, type LayersModel } from '@tensorflow/tfjs-layers';
import { ConfigError } from '../utils/errors.js';
import { ModelFileError } from './model_file_error.js';
import type { IoContext } from './io_context.js';

type Json = Record<string, unknown>;

const isObject = (v: unknown): v is Json => typeof v === 'object' && v !== null && !Array.isArray(v);

/**
 * Class names of the layers of a Keras topology (as stored in model.json), with
 * nested models, wrappers (`layer`, `forward_layer`, `backward_layer`) and RNN cells.
 */
export function layerClassNames(topology: unknown): string[] {
  const names = new Set<string>();
  const visit = (node: unknown): void => {
    if (Array.isArray(node)) {
      node.forEach(visit);
      return;
    }
    if (!isObject(node)) return;
    const className = node.class_name ?? node.className;
    if (typeof className === 'string') names.add(className);
    const config = node.config;
    if (!isObject(config)) return;
    for (const key of ['layers', 'layer', 'forward_layer', 'backward_layer', 'cell']) visit(config[key]);
  };
  const root = isObject(topology) && isObject(topology.model_config) ? topology.model_config : topology;
  visit(root);
  return [...names];
}

/** The advice appended to tfjs' "Unknown layer" error. */
export function unknownLayerAdvice(names: readonly string[]): string {
  return (
    `The layer class${names.length > 1 ? 'es' : ''} ${names.map((n) => `'${n}'`).join(', ')} ` +
    `${names.length > 1 ? 'are' : 'is'} not registered with the copy of TensorFlow.js that loads the model. ` +
    `If the model was saved with tfjs-neural-modules: import 'tfjs-neural-modules' (or require it) before ` +
    `loading, in the program that loads it; and make sure ` +
    `your app and tfjs-neural-modules use one copy of @tensorflow/tfjs-layers and @tensorflow/tfjs-core: ` +
    `'npm ls @tensorflow/tfjs-layers' must show a single version (deduped); if it shows several, align the ` +
    `versions in package.json and run 'npm dedupe'.`
  );
}

/**
 * Builds the topology alone (no weights) with tfjs-layers, as tfjs will, and returns
 * the model's weight names; rethrows tfjs' "Unknown layer" error with
 * {@link unknownLayerAdvice}. Returns null when building fails for another reason
 * (tfjs reports that itself when it loads the model).
 */
async function buildTopology(ctx: IoContext, modelFile: string, json: tf.io.ModelJSON, unregistered: readonly string[]): Promise<string[] | null> {
  let model: LayersModel | null = null;
  try {
    model = await loadLayersModel({ load: async () => ({ modelTopology: json.modelTopology }) });
    return model.weights.map((w) => w.originalName);
  } catch (e) {
    const message = (e as Error).message ?? String(e);
    const m = /Unknown layer: ([^.\s]+)/.exec(message);
    if (m) {
      throw new ConfigError(
        `${ctx.where}.load: loading '${modelFile}' failed: ${message}\n` + unknownLayerAdvice(unregistered.length > 0 ? unregistered : [m[1]]),
      );
    }
    return null;
  } finally {
    model?.dispose();
  }
}

/**
 * Checks `json`'s topology before tfjs builds it: every layer class must be
 * registered (else tfjs' "Unknown layer" error is thrown with the fix), and a
 * model.json without `weightsManifest` is accepted only when its topology has no
 * weights.
 */
export async function checkTopology(ctx: IoContext, modelFile: string, json: tf.io.ModelJSON): Promise<void> {
  if (json.modelTopology == null) return;
  const registered = tf.serialization.SerializationMap.getMap().classNameMap;
  const unregistered = layerClassNames(json.modelTopology).filter((n) => !(n in registered));
  const manifestMissing = json.weightsManifest == null;
  if (unregistered.length === 0 && !manifestMissing) return;
  const weights = await buildTopology(ctx, modelFile, json, unregistered);
  if (manifestMissing && weights !== null && weights.length > 0) {
    const shown = weights.slice(0, 5).join(', ') + (weights.length > 5 ? ', ...' : '');
    throw new ModelFileError(
      `${ctx.where}.load: model file '${modelFile}' has no 'weightsManifest' but its topology has ` +
        `${weights.length} weight${weights.length > 1 ? 's' : ''} (${shown}); loading it would silently give ` +
        `freshly initialized weights. Expected a 'weightsManifest' listing the weight files (as model.save writes ` +
        `it): restore model.json and its weights, or save the model again.`,
      modelFile,
    );
  }
}
