/**
 * The error type of `nm.io`: a model file that is missing, unreadable or corrupt.
 */

/**
 * A model file (model.json or a weights shard) that is missing, unreadable or
 * does not match what its manifest promises.
 *
 * When to use: catch it around `tf.loadLayersModel(nm.io.fileSystem(dir))` or
 * `model.save(nm.io.fileSystem(dir))` to tell a broken file apart from a bad
 * argument (`ConfigError`); `file` holds the absolute path of the culprit.
 *
 * Caveat: tfjs wraps some load errors in its own messages; match on the `file`
 * field or on the path text rather than on the whole message.
 *
 * @example
 * ```ts
 * try {
 *   await tf.loadLayersModel(nm.io.fileSystem('./model'));
 * } catch (e) {
 *   if (e instanceof nm.io.ModelFileError) console.error('broken file:', e.file);
 * }
 * ```
 */
export class ModelFileError extends Error {
  constructor(
    message: string,
    /** Absolute path of the file that is missing or corrupt. */
    readonly file: string,
  ) {
    super(message);
    this.name = 'ModelFileError';
  }
}
