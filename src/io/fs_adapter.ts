/**
 * The small file-system surface that `nm.io.fileSystem` uses, and its default
 * implementation on `node:fs/promises`.
 *
 * Node built-ins are never imported here: they come from the Node services that the
 * package's Node entry installs (`src/platform/host.ts`), so the browser build of
 * this module reaches no `node:` module at all.
 */
import { nodeHost, type HostStat } from '../platform/host.js';

/** What `stat` must report: the platform's file facts (documented at {@link HostStat}). */
export type FsStat = HostStat;

/**
 * The file operations used by `nm.io.fileSystem`. Paths are absolute.
 *
 * When to use: pass a partial object as `FileSystemOptions.fs` to intercept
 * single operations, e.g. to simulate a crash or a full disk in a test; every
 * operation you leave out uses `node:fs/promises`.
 *
 * Caveat: failing operations must reject with an `Error` carrying a Node-style
 * `code` (`'ENOENT'`, `'EEXIST'`...) where the handler relies on it (`stat`,
 * `lstat`, `realpath`, `readFile`, `mkdir`, `link`, `createExclusive`).
 *
 * @example
 * ```ts
 * const handler = nm.io.fileSystem(dir, {
 *   fs: { rename: async () => { throw new Error('disk full'); } },
 * });
 * ```
 */
export interface FsLike {
  /** Creates a directory and its parents; succeeds if it already exists. */
  mkdirp(path: string): Promise<void>;
  /** Reads a whole file. */
  readFile(path: string): Promise<Uint8Array>;
  /** Creates or truncates a file, writes `data` and flushes it to disk (fsync). */
  writeFileDurable(path: string, data: Uint8Array): Promise<void>;
  /** Atomically replaces `to` by `from` (POSIX rename semantics). */
  rename(from: string, to: string): Promise<void>;
  /** Creates a hard link `newPath` to `existing`. */
  link(existing: string, newPath: string): Promise<void>;
  /** Copies a file (used when hard links are not supported). */
  copyFile(from: string, to: string): Promise<void>;
  /** Removes a file. */
  unlink(path: string): Promise<void>;
  /** File metadata; rejects with code `'ENOENT'` when the path does not exist. */
  stat(path: string): Promise<FsStat>;
  /** Metadata of the link itself when `path` is a symbolic link; rejects with `'ENOENT'` when missing. */
  lstat(path: string): Promise<FsStat>;
  /** Canonical absolute path with every symbolic link resolved; rejects with `'ENOENT'` when missing. */
  realpath(path: string): Promise<string>;
  /**
   * Creates `path` holding `data` only if it does not exist yet, atomically (the
   * file appears complete or not at all); rejects with code `'EEXIST'` otherwise.
   */
  createExclusive(path: string, data: Uint8Array): Promise<void>;
  /** Names of the entries of a directory. */
  readdir(path: string): Promise<string[]>;
  /** Flushes a directory's entries (renames) to disk; best effort. */
  syncDir(path: string): Promise<void>;
}

/** The path helpers used by the handler (a subset of `node:path`). */
export interface PathLike {
  /** Absolute form of a path. */
  resolve(...parts: string[]): string;
  /** Joins path segments. */
  join(...parts: string[]): string;
  /** Directory part of a path. */
  dirname(path: string): string;
  /** Last segment of a path. */
  basename(path: string): string;
  /** Relative path from `from` to `to`. */
  relative(from: string, to: string): string;
  /** Whether a path is absolute. */
  isAbsolute(path: string): boolean;
  /** The platform's path separator. */
  sep: string;
}

/** Builds the default {@link FsLike} on `node:fs/promises`, with `overrides` applied on top. */
export async function nodeFs(overrides: Partial<FsLike> = {}, what = 'nm.io.fileSystem'): Promise<FsLike> {
  const fsp = nodeHost(what).fsp;
  const base: FsLike = {
    async mkdirp(path) {
      await fsp.mkdir(path, { recursive: true });
    },
    async readFile(path) {
      return fsp.readFile(path);
    },
    async writeFileDurable(path, data) {
      const handle = await fsp.open(path, 'w');
      try {
        await handle.writeFile(data);
        await handle.sync();
      } finally {
        await handle.close();
      }
    },
    rename: (from, to) => fsp.rename(from, to),
    link: (existing, newPath) => fsp.link(existing, newPath),
    copyFile: (from, to) => fsp.copyFile(from, to),
    unlink: (path) => fsp.unlink(path),
    stat: (path) => fsp.stat(path),
    lstat: (path) => fsp.lstat(path),
    realpath: (path) => fsp.realpath(path),
    async createExclusive(path, data) {
      // Written under a unique name, then hard-linked: link fails with EEXIST when the
      // name is taken, and readers never see a half-written file. The name carries this
      // process's pid, so that a later save can tell a file left by a killed process
      // from one being written now (save_lock.ts).
      const rand = Math.floor(Math.random() * 0x100000000).toString(36);
      const pid = (globalThis as { process?: { pid?: number } }).process?.pid ?? 0;
      const temp = `${path}.new-${pid}-${Date.now().toString(36)}-${rand}`;
      const handle = await fsp.open(temp, 'wx');
      try {
        await handle.writeFile(data);
      } finally {
        await handle.close();
      }
      try {
        await fsp.link(temp, path);
      } finally {
        await fsp.unlink(temp).catch(() => undefined);
      }
    },
    readdir: (path) => fsp.readdir(path),
    async syncDir(path) {
      // Directory fsync makes renames durable on POSIX; Windows refuses to open a
      // directory, which is harmless here.
      try {
        const handle = await fsp.open(path, 'r');
        try {
          await handle.sync();
        } finally {
          await handle.close();
        }
      } catch {
        /* best effort */
      }
    },
  };
  return { ...base, ...overrides };
}

/** The `node:path` helpers (from the Node services; throws in the browser build). */
export async function nodePath(what = 'nm.io.fileSystem'): Promise<PathLike> {
  return nodeHost(what).path;
}

/** The Node error code of a caught value, if any. */
export function errorCode(e: unknown): string | undefined {
  return typeof e === 'object' && e !== null && 'code' in e ? String((e as { code: unknown }).code) : undefined;
}
