/**
 * `nm.io.fileSystem(dir)`: a tfjs IOHandler that saves and loads models on disk
 * in Node without `@tensorflow/tfjs-node`.
 */
import type * as tf from '@tensorflow/tfjs-core';
import { checkKeys, fail } from '../utils/errors.js';
import { nodeHost } from '../platform/host.js';
import { nodeFs, nodePath, type FsLike } from './fs_adapter.js';
import { loadModel } from './load_model.js';
import type { IoContext } from './io_context.js';
import { saveAtomic } from './save_atomic.js';

/** Options of {@link fileSystem}. */
export interface FileSystemOptions {
  /**
   * Replacements for single file operations (default: `node:fs/promises`).
   * Meant for tests that simulate a failing disk or a crash mid-save; leave it
   * out in normal use.
   */
  fs?: Partial<FsLike>;
}

/**
 * An IOHandler that saves a model to, and loads it from, a directory on disk,
 * in the layout of tfjs-node's `file://` handler: `model.json` (topology, weight
 * manifest, training config, metadata) and `weights.bin` (all weights
 * concatenated in manifest order).
 *
 * When to use: saving and loading in Node when `@tensorflow/tfjs-node` is not
 * installed (it needs a native libtensorflow). Files written here load with
 * `tf.loadLayersModel('file://dir/model.json')` under tfjs-node and the other way
 * round. Loading also accepts the multi-shard layout that tfjs-converter writes
 * (`group1-shard1of3.bin`, ...), and `dir` may be the path of a model.json file
 * itself.
 *
 * Saving is atomic: the files are written to temporary names in `dir`, flushed,
 * then renamed, `weights.bin` first and `model.json` last. A save that fails or
 * is killed midway leaves the previous model loadable, and the directory is
 * created when missing. A killed save is recovered from only when its journal
 * (`model.json.journal-<token>`: sizes, CRC-32s and times of both files before and
 * after) shows that the current files are exactly what it left; files written
 * later, by a later save or by another tool such as tfjs-node, always win.
 *
 * Loading while another process saves into the same directory sees the old or the
 * new model: when the files change during a read, the read is repeated (up to 25
 * times, then a `ModelFileError` says the directory kept changing).
 *
 * Caveats:
 * - Node only: it is fully available from the package's Node entry (what Node
 *   resolves `'tfjs-neural-modules'` to, or `'tfjs-neural-modules/node'`). In the
 *   browser build (bundlers, script tag) calling it throws a `ConfigError` that says
 *   so; there, save to `'localstorage://…'`, `'indexeddb://…'` or `'downloads://…'`.
 * - In Node the same handler also answers `model.save('file://dir')` and
 *   `tf.loadLayersModel('file://dir/model.json')` when `@tensorflow/tfjs-node` is not
 *   loaded (the Node entry registers a `file://` router; see `src/io/file_router.ts`).
 * - One writer per directory at a time: a save holds the lock file
 *   `model.json.lock` in `dir`; a second save that starts meanwhile fails with a
 *   `ModelFileError` saying that another save is in progress (save again later). A
 *   lock left by a killed process is taken over when that process no longer exists
 *   (checked on this machine only), and the lock's temporary files
 *   (`model.json.lock.new-<pid>-…`) that a save killed while taking the lock leaves
 *   are removed by the next save once their process no longer exists.
 * - Weight paths of the manifest must stay inside the model directory (relative,
 *   no `..`, no absolute path, backslash or drive letter, no symbolic link leading
 *   out); other paths are refused with a `ModelFileError` naming the manifest entry.
 * - A model.json without `weightsManifest` loads only when its topology has no
 *   weights; a layer class that is not registered (`Unknown layer: ...`) is reported
 *   with the fix (import the package before loading; one copy of tfjs-layers).
 * - Saving only writes `weights.bin`; stale shards of an older converter layout in
 *   the same directory are left alone (tfjs-node does the same).
 * - Errors name the file: a missing or corrupt file throws a `ModelFileError`
 *   whose `file` field is its absolute path; a bad argument throws a `ConfigError`.
 *
 * @param dir directory to save into / load from (relative to the working directory
 *   or absolute); for loading, also a path to a model.json file.
 * @param opts see {@link FileSystemOptions}.
 *
 * @example
 * ```ts
 * import * as tf from '@tensorflow/tfjs';
 * import * as nm from 'tfjs-neural-modules';
 *
 * await model.save(nm.io.fileSystem('./models/digits'));
 * const loaded = await tf.loadLayersModel(nm.io.fileSystem('./models/digits'));
 * ```
 */
export function fileSystem(dir: string, opts: FileSystemOptions = {}): tf.io.IOHandler {
  const where = `nm.io.fileSystem(${JSON.stringify(dir)})`;
  if (typeof dir !== 'string' || dir.trim() === '') {
    fail('nm.io.fileSystem', 'dir', dir, 'a non-empty directory path', "Example: nm.io.fileSystem('./my-model').");
  }
  if (typeof opts !== 'object' || opts === null) fail(where, 'opts', opts, 'an options object or undefined');
  checkKeys(where, opts, ['fs']);
  nodeHost('nm.io.fileSystem'); // fails here, not at save time, in the browser build

  const context = async (): Promise<{ ctx: IoContext; target: string }> => {
    const path = await nodePath();
    const ctx: IoContext = { fs: await nodeFs(opts.fs ?? {}), path, where };
    return { ctx, target: path.resolve(dir) };
  };
  return {
    async save(artifacts: tf.io.ModelArtifacts): Promise<tf.io.SaveResult> {
      const { ctx, target } = await context();
      return saveAtomic(ctx, target, artifacts);
    },
    async load(): Promise<tf.io.ModelArtifacts> {
      const { ctx, target } = await context();
      return loadModel(ctx, target);
    },
  };
}
