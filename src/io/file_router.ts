/**
 * A `file://` save/load router for tfjs in Node without `@tensorflow/tfjs-node`,
 * backed by `nm.io.fileSystem` (atomic save, tfjs-node's layout).
 */
import * as tf from '@tensorflow/tfjs-core';
import { nodeHost } from '../platform/host.js';
import { fileSystem } from './file_system.js';

const SCHEME = 'file://';
const REGISTERED = Symbol.for('tfjs-neural-modules.fileRouter');
type Slot = { [REGISTERED]?: boolean };
type Router = Parameters<typeof tf.io.registerSaveRouter>[0];

/** True while our router asks the registry whether another router answers a URL. */
let probing = false;

/** Whether a router other than ours returns a handler for `url`. */
function otherRouterAnswers(url: string, kind: 'save' | 'load'): boolean {
  probing = true;
  try {
    return (kind === 'save' ? tf.io.getSaveHandlers(url) : tf.io.getLoadHandlers(url)).length > 0;
  } finally {
    probing = false;
  }
}

function route(kind: 'save' | 'load'): Router {
  // tfjs's IORouter type says IOHandler, but its registry expects null for "not mine".
  return ((url: string | string[]): tf.io.IOHandler | null => {
    if (probing || typeof url !== 'string' || !url.startsWith(SCHEME)) return null;
    // tfjs-node (or anyone else) already handles file://: step aside, so tfjs sees one handler.
    if (otherRouterAnswers(url, kind)) return null;
    return fileSystem(url.slice(SCHEME.length));
  }) as Router;
}

/**
 * Registers a `file://` router with `tf.io.registerSaveRouter` and
 * `tf.io.registerLoadRouter`, so that `model.save('file://dir')` and
 * `tf.loadLayersModel('file://dir/model.json')` work in Node without
 * `@tensorflow/tfjs-node`, through {@link fileSystem} (atomic save; the same
 * `model.json` + `weights.bin` layout tfjs-node writes and reads).
 *
 * When to use: you normally don't call it: importing the package's Node entry
 * (`import * as nm from 'tfjs-neural-modules'` in Node, or
 * `'tfjs-neural-modules/node'`) calls it once. Call it yourself only if you removed
 * routers from the tfjs registry.
 *
 * Caveats:
 * - It steps aside for other `file://` routers: on each save or load it first asks
 *   the registry whether another router (tfjs-node's, loaded before or after this
 *   package) answers the URL, and returns no handler if one does, so tfjs never sees
 *   two handlers for one URL.
 * - Registers at most once per process (also across an ESM and a CommonJS copy of
 *   this package); returns false when it was already registered.
 * - `file://` followed by the path, as tfjs-node: `file://./models/a` is relative to
 *   the working directory, `file:///abs/path` absolute. A list of URLs (model.json plus
 *   weight files) is left to other routers.
 * - Node only: it throws in the browser build (there is no file system to route to).
 *
 * @returns true when it registered the router now, false when it already was.
 *
 * @example
 * ```ts
 * import * as tf from '@tensorflow/tfjs';
 * import 'tfjs-neural-modules'; // in Node: registers the file:// router
 * await model.save('file://./my-model');
 * const same = await tf.loadLayersModel('file://./my-model/model.json');
 * ```
 */
export function registerFileRouter(): boolean {
  nodeHost('nm.io.registerFileRouter');
  const slot = globalThis as Slot;
  if (slot[REGISTERED]) return false;
  slot[REGISTERED] = true;
  tf.io.registerSaveRouter(route('save'));
  tf.io.registerLoadRouter(route('load'));
  return true;
}
