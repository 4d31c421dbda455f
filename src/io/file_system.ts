/**
 * `nm.io.fileSystem(dir)`: a tfjs IOHandler that saves and loads models on disk
 * in Node without `@tensorflow/tfjs-node`.
 */
import type * as tf from '@tensorflow/tfjs-core';
import { checkKeys, fail } from '../utils/errors.js';
import { nodeHost } from '../platform/host.js';
import { nodeFs, nodePath, type FsLike } from './fs_adapter.js';
import { loadModel } from './load_model.js';
import { saveAtomic, type IoContext } from './save_atomic.js';

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
 * created when missing.
 *
 * Caveats:
 * - Node only: it is fully available from the package's Node entry (what Node
 *   resolves `'tfjs-neural-modules'` to, or `'tfjs-neural-modules/node'`). In the
 *   browser build (bundlers, script tag) calling it throws a `ConfigError` that says
 *   so; there, save to `'localstorage://…'`, `'indexeddb://…'` or `'downloads://…'`.
 * - In Node the same handler also answers `model.save('file://dir')` and
 *   `tf.loadLayersModel('file://dir/model.json')` when `@tensorflow/tfjs-node` is not
 *   loaded (the Node entry registers a `file://` router; see `src/io/file_router.ts`).
 * - One writer per directory: two processes saving into the same directory at
 *   once can interfere.
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
