/**
 * Atomic saving of the `model.json` + `weights.bin` layout.
 *
 * Protocol for one save with a unique token X (all files in the target directory):
 *  0. take the directory's lock `model.json.lock` (created exclusively; a second
 *     writer gets a clear error; save_lock.ts), remove what saves killed while
 *     taking it left, then recover from interrupted saves (below);
 *  1. write `weights.bin.tmp-X` and `model.json.tmp-X`, each flushed to disk;
 *  2. write the journal `model.json.journal-X` (see journal.ts): the generation X
 *     and the size, CRC-32 and modification time of the current `model.json` and
 *     `weights.bin` and of the two new files;
 *  3. hard-link the current `weights.bin` (if any) as `weights.bin.prev-X`;
 *  4. rename `weights.bin.tmp-X` → `weights.bin`;
 *  5. rename `model.json.tmp-X` → `model.json`  (the commit point);
 *  6. delete `weights.bin.prev-X` and the journal, release the lock.
 * A failure before 5 is rolled back (prev restored, temp files removed), so the
 * previous model stays as it was. After a hard crash between 4 and 5, the loader
 * reads the old weights from `weights.bin.prev-X`, and the next save restores them
 * as `weights.bin` before it starts, but only when the journal says that the
 * current `model.json` and `weights.bin` are exactly the files that save found and
 * wrote: files written later by anyone else always win over the journal.
 *
 * Journals of version 0.1.0 (a `model.json.tmp-X` + `weights.bin.prev-X` pair
 * without a journal file) are recognized when sizes and modification times show
 * that nothing was written after them (see {@link legacyInterruptedSwap}).
 */
import * as tf from '@tensorflow/tfjs-core';
import { ConfigError } from '../utils/errors.js';
import { errorCode, type FsLike, type FsStat } from './fs_adapter.js';
import { encodeJournal, factsOf, isInterruptedSwap, newJournal, readJournal, type FileFacts } from './journal.js';
import type { IoContext } from './io_context.js';
import { ModelFileError } from './model_file_error.js';
import { acquireLock, removeStaleLockTemps } from './save_lock.js';
import { checkModelJson, groupByteLength } from './weights_manifest.js';

/** File name of the model description, as tfjs-node writes it. */
export const MODEL_JSON_FILENAME = 'model.json';
/** File name of the single weights file, as tfjs-node writes it. */
export const WEIGHTS_BINARY_FILENAME = 'weights.bin';
export { LOCK_FILENAME } from './save_lock.js';

/** Matches the journal files of an unfinished save: `<model.json|weights.bin>.<tmp|prev|journal>-<token>`. */
const JOURNAL = /^(model\.json|weights\.bin)\.(tmp|prev|journal)-([A-Za-z0-9_-]+)$/;

/** Journal file name of a token. */
export function journalName(base: string, kind: 'tmp' | 'prev' | 'journal', token: string): string {
  return `${base}.${kind}-${token}`;
}

/** Whether a directory entry is a journal file of some save (tmp, prev or journal). */
export function isJournalEntry(name: string): boolean {
  return JOURNAL.test(name);
}

/** Tokens of saves that kept a previous `weights.bin` (a `weights.bin.prev-X` exists). */
export function prevTokens(entries: readonly string[]): string[] {
  const tokens: string[] = [];
  for (const name of entries) {
    const m = JOURNAL.exec(name);
    if (m && m[1] === WEIGHTS_BINARY_FILENAME && m[2] === 'prev') tokens.push(m[3]);
  }
  return tokens.sort();
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

/** Metadata of `file`, or null when it does not exist. */
export async function statOrNull(fs: FsLike, file: string): Promise<FsStat | null> {
  try {
    return await fs.stat(file);
  } catch (e) {
    if (errorCode(e) === 'ENOENT') return null;
    throw e;
  }
}

/** Bytes and metadata of `file`, or null when it does not exist. */
async function readOrNull(fs: FsLike, file: string): Promise<{ bytes: Uint8Array; info: FsStat } | null> {
  const info = await statOrNull(fs, file);
  if (info === null) return null;
  try {
    return { bytes: await fs.readFile(file), info };
  } catch (e) {
    if (errorCode(e) === 'ENOENT') return null;
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

/** The current `model.json` and `weights.bin` of a directory, as read by a load or a save. */
export interface CurrentFiles {
  model: { bytes: Uint8Array; info: FsStat | null } | null;
  weights: { bytes: Uint8Array; info: FsStat | null } | null;
}

/** An interrupted save whose kept previous weights belong with the current `model.json`. */
export interface InterruptedSwap {
  token: string;
  /** Path of `weights.bin.prev-<token>`. */
  prevFile: string;
  /** Its bytes. */
  prevBytes: Uint8Array;
}

/**
 * Checks a save of version 0.1.0 that left `model.json.tmp-X` + `weights.bin.prev-X`
 * and no journal: it counts as interrupted between the weights swap and the commit
 * only when nothing was written after its `model.json.tmp-X` (neither `model.json`
 * nor `weights.bin` is newer), `weights.bin` has the size the temporary model.json
 * asks for and the kept weights the size the current model.json asks for.
 */
async function legacyInterruptedSwap(ctx: IoContext, dir: string, token: string, current: CurrentFiles, prevBytes: Uint8Array): Promise<boolean> {
  const tmp = await readOrNull(ctx.fs, ctx.path.join(dir, journalName(MODEL_JSON_FILENAME, 'tmp', token)));
  if (tmp === null || current.model === null || current.weights === null) return false;
  const written = tmp.info.mtimeMs;
  const modelTime = current.model.info?.mtimeMs;
  const weightsTime = current.weights.info?.mtimeMs;
  if (written === undefined || modelTime === undefined || weightsTime === undefined) return false;
  if (modelTime > written || weightsTime > written) return false;
  const bytesOf = (bytes: Uint8Array): number | null => {
    try {
      const checked = checkModelJson(JSON.parse(new TextDecoder('utf-8').decode(bytes)));
      if ('problem' in checked || checked.json.weightsManifest?.length !== 1) return null;
      const group = checked.json.weightsManifest[0];
      if (group.paths.length !== 1 || group.paths[0] !== WEIGHTS_BINARY_FILENAME) return null;
      return groupByteLength(group.weights);
    } catch {
      return null;
    }
  };
  return bytesOf(tmp.bytes) === current.weights.bytes.byteLength && bytesOf(current.model.bytes) === prevBytes.byteLength;
}

/**
 * Finds an interrupted save of ours in `dir` whose kept previous weights
 * (`weights.bin.prev-X`) belong with the current `model.json`: its journal says that
 * `model.json` is still the file it found and `weights.bin` the file it wrote (see
 * journal.ts). Returns null otherwise, in particular when any other writer replaced
 * either file since: then the current files are the model.
 */
export async function findInterruptedSwap(ctx: IoContext, dir: string, entries: readonly string[], current: CurrentFiles): Promise<InterruptedSwap | null> {
  for (const token of prevTokens(entries)) {
    const prevFile = ctx.path.join(dir, journalName(WEIGHTS_BINARY_FILENAME, 'prev', token));
    const journalFile = journalName(MODEL_JSON_FILENAME, 'journal', token);
    let prevBytes: Uint8Array;
    try {
      prevBytes = await ctx.fs.readFile(prevFile);
    } catch (e) {
      if (errorCode(e) === 'ENOENT') continue; // that save finished meanwhile
      throw e;
    }
    if (entries.includes(journalFile)) {
      const journal = await readJournal(ctx.fs, ctx.path.join(dir, journalFile), token);
      if (journal === null) continue;
      const facts = (f: CurrentFiles['model']): FileFacts | null => (f === null ? null : factsOf(f.bytes, f.info));
      const state = { model: facts(current.model), weights: facts(current.weights), prev: factsOf(prevBytes, null) };
      if (isInterruptedSwap(journal, state)) return { token, prevFile, prevBytes };
    } else if (await legacyInterruptedSwap(ctx, dir, token, current, prevBytes)) {
      return { token, prevFile, prevBytes };
    }
  }
  return null;
}

/**
 * Finishes the bookkeeping of earlier saves that were killed: restores the old
 * `weights.bin` of an interrupted save when its journal proves that it belongs
 * with the current `model.json`, then removes every journal file. Call it only
 * while holding the directory's lock.
 */
export async function recoverInterruptedSaves(ctx: IoContext, dir: string): Promise<void> {
  const entries = await ctx.fs.readdir(dir);
  if (!entries.some(isJournalEntry)) return;
  const current: CurrentFiles = {
    model: await readOrNull(ctx.fs, ctx.path.join(dir, MODEL_JSON_FILENAME)),
    weights: await readOrNull(ctx.fs, ctx.path.join(dir, WEIGHTS_BINARY_FILENAME)),
  };
  const swap = await findInterruptedSwap(ctx, dir, entries, current);
  if (swap !== null) await ctx.fs.rename(swap.prevFile, ctx.path.join(dir, WEIGHTS_BINARY_FILENAME));
  for (const name of entries) {
    if (isJournalEntry(name)) await removeQuietly(ctx.fs, ctx.path.join(dir, name));
  }
  await ctx.fs.syncDir(dir);
}

/** Saves `artifacts` into `dir` atomically (see the protocol at the top of this file). */
export async function saveAtomic(ctx: IoContext, dir: string, artifacts: tf.io.ModelArtifacts): Promise<tf.io.SaveResult> {
  if (artifacts.modelTopology instanceof ArrayBuffer) {
    throw new ConfigError(
      `${ctx.where}.save: the model topology is binary (a GraphDef ArrayBuffer); only JSON topologies ` +
        `(tf.LayersModel) can be saved, as with tfjs-node's file:// handler.`,
    );
  }
  await ensureDirectory(ctx, dir);
  const token = newToken();
  const release = await acquireLock(ctx, dir, token);
  try {
    await removeStaleLockTemps(ctx, dir);
    await recoverInterruptedSaves(ctx, dir);
    await saveLocked(ctx, dir, artifacts, token);
  } finally {
    await release();
  }
  return { modelArtifactsInfo: tf.io.getModelArtifactsInfoForJSON(artifacts) };
}

async function saveLocked(ctx: IoContext, dir: string, artifacts: tf.io.ModelArtifacts, token: string): Promise<void> {
  const { fs, path } = ctx;
  const weightsFile = path.join(dir, WEIGHTS_BINARY_FILENAME);
  const modelFile = path.join(dir, MODEL_JSON_FILENAME);
  const weightsTmp = path.join(dir, journalName(WEIGHTS_BINARY_FILENAME, 'tmp', token));
  const modelTmp = path.join(dir, journalName(MODEL_JSON_FILENAME, 'tmp', token));
  const weightsPrev = path.join(dir, journalName(WEIGHTS_BINARY_FILENAME, 'prev', token));
  const journalFile = path.join(dir, journalName(MODEL_JSON_FILENAME, 'journal', token));
  const modelBytes = new TextEncoder().encode(JSON.stringify(modelJsonFor(artifacts)));
  const newWeights = weightBytes(artifacts);

  let current = weightsTmp;
  let hasPrev = false;
  let weightsSwapped = false;
  try {
    await fs.writeFileDurable(weightsTmp, newWeights);
    current = modelTmp;
    await fs.writeFileDurable(modelTmp, modelBytes);
    current = journalFile;
    const oldModel = await readOrNull(fs, modelFile);
    const oldWeights = await readOrNull(fs, weightsFile);
    const journal = newJournal(
      token,
      {
        model: oldModel && factsOf(oldModel.bytes, oldModel.info),
        weights: oldWeights && factsOf(oldWeights.bytes, oldWeights.info),
      },
      { model: factsOf(modelBytes, await fs.stat(modelTmp)), weights: factsOf(newWeights, await fs.stat(weightsTmp)) },
    );
    await fs.writeFileDurable(journalFile, encodeJournal(journal));
    current = weightsPrev;
    if (oldWeights !== null) {
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
      for (const f of [weightsTmp, modelTmp, weightsPrev, journalFile]) await removeQuietly(fs, f);
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
  await removeQuietly(fs, journalFile);
  await fs.syncDir(dir);
}

/** Puts the old `weights.bin` back after a failed save. Returns false if that failed too. */
async function rollBack(ctx: IoContext, s: { weightsFile: string; weightsPrev: string; hasPrev: boolean; weightsSwapped: boolean }): Promise<boolean> {
  if (!s.weightsSwapped) return true;
  try {
    if (s.hasPrev) await ctx.fs.rename(s.weightsPrev, s.weightsFile);
    else await ctx.fs.unlink(s.weightsFile); // there was no weights.bin before this save
    return true;
  } catch {
    return false;
  }
}
