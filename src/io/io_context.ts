/** What the model files' save and load share (`nm.io.fileSystem`). */
import type { FsLike, PathLike } from './fs_adapter.js';

/** What save and load share: the file system, path helpers and a label for messages. */
export interface IoContext {
  fs: FsLike;
  path: PathLike;
  /** `nm.io.fileSystem('<dir>')`, the prefix of every message. */
  where: string;
}
