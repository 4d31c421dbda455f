/**
 * Installs the Node services of {@link NodeHost} from `node:fs/promises`,
 * `node:path`, `node:zlib`, `node:os` and `node:worker_threads`. Imported for its side effect by the Node entry
 * (`src/node.ts`) only; the browser entry (`src/index.ts`) never reaches it.
 */
import * as fsp from 'node:fs/promises';
import * as os from 'node:os';
import * as path from 'node:path';
import { Worker } from 'node:worker_threads';
import { deflateSync } from 'node:zlib';
import { installNodeHost, type NodeHost } from './host.js';

const host: NodeHost = {
  fsp: {
    mkdir: (p, opts) => fsp.mkdir(p, opts),
    readFile: ((p: string, encoding?: 'utf8') => (encoding ? fsp.readFile(p, encoding) : fsp.readFile(p))) as NodeHost['fsp']['readFile'],
    writeFile: (p, data) => fsp.writeFile(p, data),
    open: (p, flags) => fsp.open(p, flags),
    rename: (a, b) => fsp.rename(a, b),
    link: (a, b) => fsp.link(a, b),
    copyFile: (a, b) => fsp.copyFile(a, b),
    unlink: (p) => fsp.unlink(p),
    stat: (p) => fsp.stat(p),
    lstat: (p) => fsp.lstat(p),
    realpath: (p) => fsp.realpath(p),
    readdir: (p) => fsp.readdir(p),
  },
  path: {
    resolve: path.resolve,
    relative: path.relative,
    isAbsolute: path.isAbsolute,
    sep: path.sep,
    join: path.join,
    dirname: path.dirname,
    basename: path.basename,
  },
  deflate: (bytes, level) => new Uint8Array(deflateSync(bytes, { level })),
  availableParallelism: () => os.availableParallelism(),
  startWorker(source) {
    const worker = new Worker(source, { eval: true });
    // Node refs a worker's message port again whenever a first 'message' listener is
    // added, so every listener is attached here, before unref(), and later callers only
    // join these lists: the worker never keeps the process alive.
    const onMessage: Array<(data: unknown) => void> = [];
    const onError: Array<(err: unknown) => void> = [];
    const onExit: Array<(code: number) => void> = [];
    worker.on('message', (data: unknown) => onMessage.forEach((fn) => fn(data)));
    worker.on('error', (err: unknown) => onError.forEach((fn) => fn(err)));
    worker.on('exit', (code: number) => onExit.forEach((fn) => fn(code)));
    worker.unref();
    return {
      postMessage: (m) => worker.postMessage(m),
      onMessage: (fn) => void onMessage.push(fn),
      onError: (fn) => void onError.push(fn),
      onExit: (fn) => void onExit.push(fn),
      terminate: () => void worker.terminate(),
    };
  },
};

installNodeHost(host);
