/**
 * The Node-only services of the package (file system, paths, zlib) behind one
 * registry, so that the browser build never reaches a `node:` module.
 *
 * The modules of the public surface never import `node:*` themselves. They ask
 * {@link nodeHost} at call time; the Node entry (`src/node.ts`, package export
 * condition `node` and the `tfjs-neural-modules/node` subpath) installs the real
 * implementation from `src/platform/node_host.ts` when it is imported. In the browser
 * build nothing is installed, and the Node-only helpers (`nm.io.fileSystem`,
 * `nm.datasets.loadCsv`, file output of `nm.callbacks.structureLogger`) throw a
 * `ConfigError` that says which entry to use instead.
 *
 * This is a separate module graph, not a lazy `import('node:...')`: bundlers
 * (webpack 5, esbuild) fail on `node:` specifiers even inside dynamic imports.
 */
import { ConfigError } from '../utils/errors.js';

/** What `stat` reports (a subset of Node's `fs.Stats`). */
export interface HostStat {
  /** True for a regular file. */
  isFile(): boolean;
  /** True for a directory. */
  isDirectory(): boolean;
  /** True for a symbolic link (reported by `lstat` only). */
  isSymbolicLink?(): boolean;
  /** Size in bytes. */
  size: number;
  /** Inode number, when the file system has them (identity of the file behind a name). */
  ino?: number;
  /** Last modification time, ms since the epoch (fractional where the file system has finer times). */
  mtimeMs?: number;
  /** Last status change time (renames and links change it), ms since the epoch. */
  ctimeMs?: number;
}

/** An open file (a subset of Node's `FileHandle`). */
export interface HostFileHandle {
  writeFile(data: Uint8Array): Promise<void>;
  sync(): Promise<void>;
  close(): Promise<void>;
}

/** The subset of `node:fs/promises` the package uses. */
export interface HostFsPromises {
  mkdir(path: string, opts: { recursive: true }): Promise<unknown>;
  readFile(path: string): Promise<Uint8Array>;
  readFile(path: string, encoding: 'utf8'): Promise<string>;
  writeFile(path: string, data: string | Uint8Array): Promise<void>;
  open(path: string, flags: 'w' | 'wx' | 'r'): Promise<HostFileHandle>;
  rename(from: string, to: string): Promise<void>;
  link(existing: string, newPath: string): Promise<void>;
  copyFile(from: string, to: string): Promise<void>;
  unlink(path: string): Promise<void>;
  stat(path: string): Promise<HostStat>;
  lstat(path: string): Promise<HostStat>;
  realpath(path: string): Promise<string>;
  readdir(path: string): Promise<string[]>;
}

/** The subset of `node:path` the package uses. */
export interface HostPath {
  resolve(...parts: string[]): string;
  relative(from: string, to: string): string;
  isAbsolute(path: string): boolean;
  sep: string;
  join(...parts: string[]): string;
  dirname(path: string): string;
  basename(path: string): string;
}

/** The Node services: `node:fs/promises`, `node:path`, zlib deflate. */
export interface NodeHost {
  fsp: HostFsPromises;
  path: HostPath;
  /** zlib-format deflate (RFC 1950) at the given level. */
  deflate(bytes: Uint8Array, level: number): Uint8Array;
  /**
   * Starts a `node:worker_threads` Worker running `source` (CommonJS, `eval: true`),
   * unref'd so it never keeps the process alive: a script whose work is done exits
   * while the worker still waits for commands.
   */
  startWorker(source: string): HostWorker;
  /** `os.availableParallelism()`: the CPUs this process may use. */
  availableParallelism(): number;
}

/** The part of a Worker (Node's worker_threads or a Web Worker) the kernel threads use. */
export interface HostWorker {
  postMessage(message: unknown): void;
  /** Calls `fn` with each message the worker posts (its data). */
  onMessage(fn: (data: unknown) => void): void;
  /** Calls `fn` when the worker fails to start or throws. */
  onError(fn: (err: unknown) => void): void;
  /**
   * Calls `fn` with the exit code when the worker's thread has ended (after an error,
   * `process.exit` in the worker, `terminate()`, or its event loop running dry). Node
   * reports every exit; the Web platform has no exit event, so in a browser only a
   * worker that closes itself (`self.close()`) is reported, with code 0.
   */
  onExit(fn: (code: number) => void): void;
  terminate(): void;
}

const KEY = Symbol.for('tfjs-neural-modules.nodeHost');
type HostSlot = { [KEY]?: NodeHost };

/** Installs the Node services (called by `src/platform/node_host.ts`). */
export function installNodeHost(host: NodeHost): void {
  (globalThis as HostSlot)[KEY] = host;
}

/** The installed Node services, or null in the browser build. */
export function maybeNodeHost(): NodeHost | null {
  return (globalThis as HostSlot)[KEY] ?? null;
}

/**
 * The Node services for `what` (e.g. `'nm.io.fileSystem'`), or a `ConfigError`
 * explaining that it is Node-only and which entry provides it.
 */
export function nodeHost(what: string): NodeHost {
  const host = maybeNodeHost();
  if (host != null) return host;
  throw new ConfigError(
    `${what} needs Node's file system, and this is the browser build of tfjs-neural-modules ` +
      `(the package's 'browser'/'default' export, or the script-tag bundle). In Node, import ` +
      `'tfjs-neural-modules' (Node picks its node entry) or 'tfjs-neural-modules/node'; if a bundler ` +
      `builds your Node program, target Node (esbuild --platform=node, webpack target 'node'). ` +
      `In a browser, save models with 'localstorage://name', 'indexeddb://name' or 'downloads://name' ` +
      `and load data with fetch.`,
  );
}
