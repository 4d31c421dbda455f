/**
 * Atomic saving of the `model.json` + `weights.bin` layout.
 *
 * Protocol for one save with a unique token X (all files in the target directory):
 *  1. write `weights.bin.tmp-X` and `model.json.tmp-X`, each flushed to disk;
 *  2. hard-link the current `weights.bin` (if any) as `weights.bin.prev-X`;
 *  3. rename `weights.bin.tmp-X` → `weights.bin`;
 *  4. rename `model.json.tmp-X` → `model.json`  (the commit point);
 *  5. delete `weights.bin.prev-X`.
 * A failure before 4 is rolled back (prev restored, temp files removed), so the
 * previous model stays as it was. After a hard crash before 4, the pair
 * `model.json.tmp-X` + `weights.bin.prev-X` marks an uncommitted save: the loader
 * then reads the old weights from `weights.bin.prev-X` (see load_model.ts), and
 * the next save restores them as `weights.bin` before it starts.
 */
import * as tf from '@tensorflow/tfjs-core';
import { ConfigError } from '../utils/errors.js';
import { errorCode, type FsLike, type PathLike } from './fs_adapter.js';
import { ModelFileError } from './model_file_error.js';

/** File name of the model description, as tfjs-node writes it. */
export const MODEL_JSON_FILENAME = 'model.json';
/** File name of the single weights file, as tfjs-node writes it. */
export const WEIGHTS_BINARY_FILENAME = 'weights.bin';

/** Matches the journal files of an unfinished save: `<model.json|weights.bin>.<tmp|prev>-<token>`. */
const JOURNAL = /^(model\.json|weights\.bin)\.(tmp|prev)-([A-Za-z0-9_-]+)$/;

/** What save and load share: the file system, path helpers and a label for messages. */
export interface IoContext {
  fs: FsLike;
  path: PathLike;
  /** `nm.io.fileSystem('<dir>')`, the prefix of every message. */
  where: string;
}

/** Journal file name of a token. */
export function journalName(base: string, kind: 'tmp' | 'prev', token: string): string {
  return `${base}.${kind}-${token}`;
}

/**
 * Tokens of saves that stopped before their commit point in `dir`: both
 * `model.json.tmp-X` and `weights.bin.prev-X` are present.
 */
export function uncommittedTokens(entries: readonly string[]): string[] {
  const tmpModel = new Set<string>();
  const prevWeights = new Set<string>();
  for (const name of entries) {
    const m = JOURNAL.exec(name);
    if (!m) continue;
    if (m[1] === MODEL_JSON_FILENAME && m[2] === 'tmp') tmpModel.add(m[3]);
    if (m[1] === WEIGHTS_BINARY_FILENAME && m[2] === 'prev') prevWeights.add(m[3]);
  }
  return [...tmpModel].filter((t) => prevWeights.has(t));
}

/** The model.json body tfjs-node writes, plus the initializer fields of tfjs-core's handlers. */
export function modelJsonFor(artifacts: tf.io.ModelArtifacts): tf.io.ModelJSON {
  // Key order matches tfjs-node's NodeFileSystem.save, so JSON.stringify gives identical bytes.
  const json: tf.io.ModelJSON = {
    modelTopology: artifacts.modelTopology as tf.io.ModelJSON['modelTopology'],
    weightsManifest: [{ paths: [WEIGHTS_BINARY_FILENAME], weights: artifacts.weightSpecs ?? [] }],
    format: artifacts.format,
    generatedBy: artifacts.generatedBy,
    convertedBy: artifacts.convertedBy,
  };
  if (artifacts.trainingConfig != null) json.trainingConfig = artifacts.trainingConfig;
  if (artifacts.signature != null) json.signature = artifacts.signature;
  if (artifacts.userDefinedMetadata != null) json.userDefinedMetadata = artifacts.userDefinedMetadata;
  // Not written by tfjs-node (it drops them); written by tfjs-core's browser handlers.
  if (artifacts.modelInitializer != null) json.modelInitializer = artifacts.modelInitializer;
  if (artifacts.initializerSignature != null) json.initializerSignature = artifacts.initializerSignature;
  return json;
}

/** The weight bytes in manifest order: all buffers of `weightData` concatenated. */
export function weightBytes(artifacts: tf.io.ModelArtifacts): Uint8Array {
  if (artifacts.weightData == null) return new Uint8Array(0);
  return new Uint8Array(tf.io.CompositeArrayBuffer.join(artifacts.weightData));
}

function newToken(): string {
  const pid = (globalThis as { process?: { pid?: number } }).process?.pid ?? 0;
  const rand = Math.floor(Math.random() * 0x100000000).toString(36);
  return `${pid}-${Date.now().toString(36)}-${rand}`;
}

async function exists(fs: FsLike, file: string): Promise<boolean> {
  try {
    await fs.stat(file);
    return true;
  } catch (e) {
    if (errorCode(e) === 'ENOENT') return false;
    throw e;
  }
}

async function removeQuietly(fs: FsLike, file: string): Promise<void> {
  try {
    await fs.unlink(file);
  } catch {
    /* already gone or not removable: nothing more to do */
  }
}

/** Creates `dir` when missing; refuses a path that is a file. */
async function ensureDirectory(ctx: IoContext, dir: string): Promise<void> {
  try {
    const info = await ctx.fs.stat(dir);
    if (!info.isDirectory()) {
      throw new ConfigError(
        `${ctx.where}.save: '${dir}' exists and is not a directory. Saving needs a directory ` +
          `(it writes ${MODEL_JSON_FILENAME} and ${WEIGHTS_BINARY_FILENAME} into it); pass a directory path.`,
      );
    }
    return;
  } catch (e) {
    if (errorCode(e) !== 'ENOENT') throw e;
  }
  await ctx.fs.mkdirp(dir);
}

/**
 * Finishes the bookkeeping of earlier saves that were killed: restores the old
 * `weights.bin` of an uncommitted save, then removes every journal file.
 * Assumes one writer per directory.
 */
export async function recoverInterruptedSaves(ctx: IoContext, dir: string): Promise<void> {
  const entries = await ctx.fs.readdir(dir);
  for (const token of uncommittedTokens(entries)) {
    const prev = ctx.path.join(dir, journalName(WEIGHTS_BINARY_FILENAME, 'prev', token));
    await ctx.fs.rename(prev, ctx.path.join(dir, WEIGHTS_BINARY_FILENAME));
  }
  for (const name of entries) {
    if (JOURNAL.test(name)) await removeQuietly(ctx.fs, ctx.path.join(dir, name));
  }
}

/** Saves `artifacts` into `dir` atomically (see the protocol at the top of this file). */
export async function saveAtomic(ctx: IoContext, dir: string, artifacts: tf.io.ModelArtifacts): Promise<tf.io.SaveResult> {
  if (artifacts.modelTopology instanceof ArrayBuffer) {
    throw new ConfigError(
      `${ctx.where}.save: the model topology is binary (a GraphDef ArrayBuffer); only JSON topologies ` +
        `(tf.LayersModel) can be saved, as with tfjs-node's file:// handler.`,
    );
  }
  const { fs, path } = ctx;
  await ensureDirectory(ctx, dir);
  await recoverInterruptedSaves(ctx, dir);

  const token = newToken();
  const weightsFile = path.join(dir, WEIGHTS_BINARY_FILENAME);
  const modelFile = path.join(dir, MODEL_JSON_FILENAME);
  const weightsTmp = path.join(dir, journalName(WEIGHTS_BINARY_FILENAME, 'tmp', token));
  const modelTmp = path.join(dir, journalName(MODEL_JSON_FILENAME, 'tmp', token));
  const weightsPrev = path.join(dir, journalName(WEIGHTS_BINARY_FILENAME, 'prev', token));
  const modelBytes = new TextEncoder().encode(JSON.stringify(modelJsonFor(artifacts)));

  let current = weightsTmp;
  let hasPrev = false;
  let weightsSwapped = false;
  try {
    await fs.writeFileDurable(weightsTmp, weightBytes(artifacts));
    current = modelTmp;
    await fs.writeFileDurable(modelTmp, modelBytes);
    current = weightsPrev;
    if (await exists(fs, weightsFile)) {
      try {
        await fs.link(weightsFile, weightsPrev);
      } catch (e) {
        // File systems without hard links (some network or FAT mounts): copy instead.
        if (errorCode(e) === 'ENOENT') throw e;
        await fs.copyFile(weightsFile, weightsPrev);
      }
      hasPrev = true;
    }
    await fs.syncDir(dir);
    current = weightsFile;
    await fs.rename(weightsTmp, weightsFile);
    weightsSwapped = true;
    current = modelFile;
    await fs.rename(modelTmp, modelFile);
  } catch (e) {
    const restored = await rollBack(ctx, { weightsFile, weightsPrev, hasPrev, weightsSwapped });
    if (restored) {
      for (const f of [weightsTmp, modelTmp, weightsPrev]) await removeQuietly(fs, f);
    }
    const state = restored
      ? `The previous model in '${dir}' (if any) is unchanged.`
      : `Rolling back also failed; the previous weights are kept in '${weightsPrev}' and are used by the next load or save.`;
    throw new ModelFileError(
      `${ctx.where}.save: writing '${current}' failed: ${(e as Error).message ?? String(e)}. ${state} ` +
        `Check free disk space and write permission on '${dir}', then save again.`,
      current,
    );
  }
  await removeQuietly(fs, weightsPrev);
  await fs.syncDir(dir);
  return { modelArtifactsInfo: tf.io.getModelArtifactsInfoForJSON(artifacts) };
}

/** Puts the old `weights.bin` back after a failed save. Returns false if that failed too. */
async function rollBack(
  ctx: IoContext,
  s: { weightsFile: string; weightsPrev: string; hasPrev: boolean; weightsSwapped: boolean },
): Promise<boolean> {
  if (!s.weightsSwapped) return true;
  try {
    if (s.hasPrev) await ctx.fs.rename(s.weightsPrev, s.weightsFile);
    else await ctx.fs.unlink(s.weightsFile); // there was no weights.bin before this save
    return true;
  } catch {
    return false;
  }
}
