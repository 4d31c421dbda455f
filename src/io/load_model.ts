/**
 * Loading of a `model.json` and the weight files its manifest lists (one
 * `weights.bin`, or several shards as tfjs-converter writes them), with errors
 * that name the missing or corrupt file.
 */
import * as tf from '@tensorflow/tfjs-core';
import { errorCode, type FsStat } from './fs_adapter.js';
import { ModelFileError } from './model_file_error.js';
import { MODEL_JSON_FILENAME, WEIGHTS_BINARY_FILENAME, findInterruptedSwap, isJournalEntry, prevTokens, statOrNull } from './save_atomic.js';
import type { IoContext } from './io_context.js';
import { checkTopology } from './topology_check.js';
import { weightFile } from './weight_paths.js';
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

async function readModelJson(ctx: IoContext, file: string): Promise<{ json: tf.io.ModelJSON; bytes: Uint8Array }> {
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
      `${ctx.where}.load: model file '${file}' ${what}. It is truncated or was edited by hand; ` + `restore it or save the model again.`,
      file,
    );
  }
  const checked = checkModelJson(body);
  if ('problem' in checked) {
    throw new ModelFileError(
      `${ctx.where}.load: model file '${file}' is not a valid tfjs model.json: ${checked.problem}. ` + `Restore it or save the model again.`,
      file,
    );
  }
  return { json: checked.json, bytes };
}

/** The fewest re-reads of the files, when a save changed them under a load, before it gives up. */
const MAX_ATTEMPTS = 25;
/**
 * A read that overlapped a save is repeated while the directory keeps changing, for at
 * least {@link MAX_ATTEMPTS} reads and at most this long, with a randomized pause
 * (so a reader does not stay in step with a writer that saves back to back, which
 * starved readers on a loaded machine: 1 of 361 loads failed with 25 fixed pauses).
 */
const RETRY_MS = 10_000;

/** What identifies the state of a model directory: the files behind its names, and its journal entries. */
interface Snapshot {
  key: string;
  model: FsStat | null;
  weights: FsStat | null;
  entries: string[];
}

function identity(info: FsStat | null): string {
  return info === null ? '-' : `${info.ino ?? ''}:${info.size}:${info.mtimeMs ?? ''}:${info.ctimeMs ?? ''}`;
}

/**
 * The identity of `model.json`, `weights.bin` and of the journal entries of `dir`.
 * Every step of a save changes it (new files get new inodes and times, journal files
 * come and go), so two equal snapshots around a read prove that no save step
 * happened in between.
 */
async function snapshot(ctx: IoContext, dir: string, modelFile: string): Promise<Snapshot> {
  const model = await statOrNull(ctx.fs, modelFile);
  const weights = await statOrNull(ctx.fs, ctx.path.join(dir, WEIGHTS_BINARY_FILENAME));
  let entries: string[] = [];
  try {
    entries = (await ctx.fs.readdir(dir)).filter(isJournalEntry).sort();
  } catch {
    /* unreadable directory: the reads below report it */
  }
  return { key: `${identity(model)}|${identity(weights)}|${entries.join('/')}`, model, weights, entries };
}

async function readShard(ctx: IoContext, file: string, modelFile: string, where: string): Promise<Uint8Array> {
  try {
    return await ctx.fs.readFile(file);
  } catch (e) {
    const reason = errorCode(e) === 'ENOENT' ? 'does not exist' : `cannot be read (${(e as Error).message})`;
    throw new ModelFileError(
      `${ctx.where}.load: weights file '${file}' (listed in ${where} of '${modelFile}') ${reason}. ` + `Copy it next to model.json, or save the model again.`,
      file,
    );
  }
}

interface ReadResult {
  json: tf.io.ModelJSON;
  weights: [tf.io.WeightsManifestEntry[], ArrayBuffer] | null;
}

/**
 * One read of model.json and of every shard its manifest lists, in order,
 * checking each group's byte count against its weight specs. `weights.bin` is
 * read from `weights.bin.prev-X` only when the journal of an interrupted save of
 * ours proves that those are the weights of the current model.json (journal.ts).
 */
async function readOnce(ctx: IoContext, modelFile: string, snap: Snapshot): Promise<ReadResult> {
  const { json, bytes: modelBytes } = await readModelJson(ctx, modelFile);
  const manifest = json.weightsManifest;
  if (manifest == null) return { json, weights: null };
  const dir = ctx.path.dirname(modelFile);
  const realDir = await ctx.fs.realpath(dir);
  // Every path is checked before any file is read, so a refused entry reveals nothing.
  const files: string[][] = [];
  for (let g = 0; g < manifest.length; g++) {
    const paths: string[] = [];
    for (let i = 0; i < manifest[g].paths.length; i++) {
      paths.push(await weightFile(ctx, { dir, realDir, modelFile }, manifest[g].paths[i], `weightsManifest[${g}].paths[${i}]`));
    }
    files.push(paths);
  }
  const defaultWeights = ctx.path.join(dir, WEIGHTS_BINARY_FILENAME);
  const mayRecover = ctx.path.basename(modelFile) === MODEL_JSON_FILENAME && prevTokens(snap.entries).length > 0;
  const buffers: Uint8Array[] = [];
  const specs: tf.io.WeightsManifestEntry[] = [];
  for (let g = 0; g < manifest.length; g++) {
    const group = manifest[g];
    const sizes: string[] = [];
    let actual = 0;
    let last = '';
    for (let i = 0; i < group.paths.length; i++) {
      let file = files[g][i];
      let bytes = await readShard(ctx, file, modelFile, `weightsManifest[${g}].paths[${i}]`);
      if (mayRecover && file === defaultWeights) {
        const swap = await findInterruptedSwap(ctx, dir, snap.entries, {
          model: { bytes: modelBytes, info: snap.model },
          weights: { bytes, info: snap.weights },
        });
        if (swap !== null) {
          file = swap.prevFile;
          bytes = swap.prevBytes;
        }
      }
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
  return { json, weights: [specs, concat(buffers)] };
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

const sleep = (ms: number) => new Promise<void>((done) => setTimeout(done, ms));

/**
 * Reads model.json and its weights as one consistent pair: when a save of ours
 * (or any writer) changed the directory during the read, the read is repeated, up
 * while it keeps changing (see {@link RETRY_MS}); an error is reported only when it happened on
 * files that did not change while they were read.
 */
async function readConsistent(ctx: IoContext, modelFile: string): Promise<ReadResult> {
  const dir = ctx.path.dirname(modelFile);
  const start = Date.now();
  for (let attempt = 1; ; attempt++) {
    const before = await snapshot(ctx, dir, modelFile);
    let result: ReadResult | null = null;
    let error: unknown = null;
    try {
      result = await readOnce(ctx, modelFile, before);
    } catch (e) {
      error = e;
    }
    const after = await snapshot(ctx, dir, modelFile);
    if (after.key === before.key) {
      if (result === null) throw error;
      return result;
    }
    if (attempt >= MAX_ATTEMPTS && Date.now() - start >= RETRY_MS) {
      throw new ModelFileError(
        `${ctx.where}.load: '${modelFile}' and its weights changed during each of ${attempt} reads in ${((Date.now() - start) / 1000).toFixed(1)} s ` +
          `(another process keeps saving into '${dir}'). Load again when the saves pause.`,
        modelFile,
      );
    }
    await sleep(Math.random() * Math.min(60, 4 * attempt));
  }
}

/** Loads model artifacts from `target` (a directory holding model.json, or a model.json path). */
export async function loadModel(ctx: IoContext, target: string): Promise<tf.io.ModelArtifacts> {
  const modelFile = await locateModelJson(ctx, target);
  const { json, weights } = await readConsistent(ctx, modelFile);
  await checkTopology(ctx, modelFile, json);
  if (weights === null) return tf.io.getModelArtifactsForJSON(json, async () => [[], new ArrayBuffer(0)]);
  return tf.io.getModelArtifactsForJSON(json, async () => weights);
}
