/**
 * `nm.io`: saving and loading models on disk without tfjs-node.
 *
 * @example
 * ```ts
 * await model.save(nm.io.fileSystem('./model'));
 * const same = await tf.loadLayersModel(nm.io.fileSystem('./model'));
 * ```
 */
export { fileSystem, type FileSystemOptions } from './file_system.js';
export { registerFileRouter } from './file_router.js';
export { ModelFileError } from './model_file_error.js';
export type { FsLike, FsStat } from './fs_adapter.js';
