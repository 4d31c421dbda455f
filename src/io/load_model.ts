/**
 * Loading of a `model.json` and the weight files its manifest lists (one
 * `weights.bin`, or several shards as tfjs-converter writes them), with errors
 * that name the missing or corrupt file.
 */
import * as tf from '@tensorflow/tfjs-core';
import { errorCode } from './fs_adapter.js';
import { ModelFileError } from './model_file_error.js';
import {
  MODEL_JSON_FILENAME,
  WEIGHTS_BINARY_FILENAME,
  journalName,
  uncommittedTokens,
  type IoContext,
} from './save_atomic.js';
import { checkModelJson, groupByteLength } from './weights_manifest.js';

/**
 * Finds the model.json to load: `target` itself when it is a file, else
 * `target/model.json`.
 */
async function locateModelJson(ctx: IoContext, target: string): Promise<string> {
  try {
    const info = await ctx.fs.stat(target);
    return info.isFile() ? target : ctx.path.join(target, MODEL_JSON_FILENAME);
  } catch (e) {
    if (errorCode(e) !== 'ENOENT') throw e;
    const file = ctx.path.join(target, MODEL_JSON_FILENAME);
    throw new ModelFileError(
      `${ctx.where}.load: model file '${file}' does not exist (the directory '${target}' does not exist). ` +
        `Pass the directory a model was saved to with model.save(nm.io.fileSystem(dir)), or a path to its model.json.`,
      file,
    );
  }
}

async function readModelJson(ctx: IoContext, file: string): Promise<tf.io.ModelJSON> {
  let bytes: Uint8Array;
  try {
    bytes = await ctx.fs.readFile(file);
  } catch (e) {
    const reason = errorCode(e) === 'ENOENT' ? 'does not exist' : `cannot be read (${(e as Error).message})`;
    throw new ModelFileError(
      `${ctx.where}.load: model file '${file}' ${reason}. ` +
        `Save a model there first with model.save(nm.io.fileSystem(dir)), or pass the directory that holds model.json.`,
      file,
    );
  }
  const text = new TextDecoder('utf-8').decode(bytes);
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch (e) {
    const what = text.trim() === '' ? 'is empty' : `is not valid JSON (${(e as Error).message})`;
    throw new ModelFileError(
      `${ctx.where}.load: model file '${file}' ${what}. It is truncated or was edited by hand; ` +
        `restore it or save the model again.`,
      file,
    );
  }
  const checked = checkModelJson(body);
  if ('problem' in checked) {
    throw new ModelFileError(
      `${ctx.where}.load: model file '${file}' is not a valid tfjs model.json: ${checked.problem}. ` +
        `Restore it or save the model again.`,
      file,
    );
  }
  return checked.json;
}

/**
 * Where the weights of `weights.bin` really are: after a save that was killed
 * before its commit point, `model.json` is still the old one and its weights are
 * in `weights.bin.prev-<token>` (see save_atomic.ts).
 */
async function weightsRedirect(ctx: IoContext, dir: string): Promise<string | null> {
  let entries: string[];
  try {
    entries = await ctx.fs.readdir(dir);
  } catch {
    return null;
  }
  const tokens = uncommittedTokens(entries);
  if (tokens.length === 0) return null;
  return ctx.path.join(dir, journalName(WEIGHTS_BINARY_FILENAME, 'prev', tokens[0]));
}

async function readShard(ctx: IoContext, file: string, modelFile: string, where: string): Promise<Uint8Array> {
  try {
    return await ctx.fs.readFile(file);
  } catch (e) {
    const reason = errorCode(e) === 'ENOENT' ? 'does not exist' : `cannot be read (${(e as Error).message})`;
    throw new ModelFileError(
      `${ctx.where}.load: weights file '${file}' (listed in ${where} of '${modelFile}') ${reason}. ` +
        `Copy it next to model.json, or save the model again.`,
      file,
    );
  }
}

/**
 * Reads every shard of the manifest in order and concatenates them into one
 * buffer, checking each group's byte count against its weight specs.
 */
async function loadWeights(
  ctx: IoContext,
  modelFile: string,
  manifest: tf.io.WeightsManifestConfig,
): Promise<[tf.io.WeightsManifestEntry[], ArrayBuffer]> {
  const dir = ctx.path.dirname(modelFile);
  const isDefaultModel = ctx.path.basename(modelFile) === MODEL_JSON_FILENAME;
  const redirect = isDefaultModel ? await weightsRedirect(ctx, dir) : null;
  const buffers: Uint8Array[] = [];
  const specs: tf.io.WeightsManifestEntry[] = [];
  for (let g = 0; g < manifest.length; g++) {
    const group = manifest[g];
    const sizes: string[] = [];
    let actual = 0;
    let last = '';
    for (let i = 0; i < group.paths.length; i++) {
      const listed = ctx.path.join(dir, group.paths[i]);
      const file = redirect !== null && group.paths[i] === WEIGHTS_BINARY_FILENAME ? redirect : listed;
      const bytes = await readShard(ctx, file, modelFile, `weightsManifest[${g}].paths[${i}]`);
      buffers.push(bytes);
      actual += bytes.byteLength;
      sizes.push(`'${file}' has ${bytes.byteLength} bytes`);
      last = file;
    }
    const expected = groupByteLength(group.weights);
    if (expected !== null && expected !== actual) {
      throw new ModelFileError(
        `${ctx.where}.load: the weights of weightsManifest[${g}] in '${modelFile}' need ${expected} bytes ` +
          `but their file${group.paths.length > 1 ? 's' : ''} hold ${actual} (${sizes.join(', ')}). ` +
          `A weights file is truncated or belongs to another model; save the model again.`,
        last,
      );
    }
    specs.push(...group.weights);
  }
  return [specs, concat(buffers)];
}

/** Copies byte views into one fresh ArrayBuffer (Node buffers may share a pooled one). */
function concat(parts: readonly Uint8Array[]): ArrayBuffer {
  const total = parts.reduce((n, p) => n + p.byteLength, 0);
  const out = new Uint8Array(total);
  let offset = 0;
  for (const p of parts) {
    out.set(p, offset);
    offset += p.byteLength;
  }
  return out.buffer;
}

/** Loads model artifacts from `target` (a directory holding model.json, or a model.json path). */
export async function loadModel(ctx: IoContext, target: string): Promise<tf.io.ModelArtifacts> {
  const modelFile = await locateModelJson(ctx, target);
  const json = await readModelJson(ctx, modelFile);
  return tf.io.getModelArtifactsForJSON(json, (manifest) => loadWeights(ctx, modelFile, manifest));
}
