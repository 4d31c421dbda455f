/**
 * The Node entry of tfjs-neural-modules: the same namespaces as the browser entry
 * (`src/index.ts`), with the Node-only helpers working (`nm.io.fileSystem`,
 * `nm.datasets.loadCsv`, PNG/SVG files of `nm.callbacks.structureLogger({ dir })`)
 * and a `file://` save/load router registered for tfjs when `@tensorflow/tfjs-node`
 * does not provide one.
 *
 * Node resolves `import 'tfjs-neural-modules'` and `require('tfjs-neural-modules')`
 * here (package export condition `node`); `'tfjs-neural-modules/node'` names it
 * explicitly. Browsers and bundlers targeting the web get `src/index.ts`, which never
 * reaches a `node:` module.
 */
import './platform/node_host.js';
import { registerFileRouter } from './io/file_router.js';

registerFileRouter();

export * from './index.js';
