// Node, ESM: `import * as nm from 'tfjs-neural-modules'` (the node entry), file:// without tfjs-node.
import * as tf from '@tensorflow/tfjs';
import * as nm from 'tfjs-neural-modules';
import * as nmNode from 'tfjs-neural-modules/node';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { exercise } from './common.mjs';

if (nm.io !== nmNode.io) throw new Error("'tfjs-neural-modules' and 'tfjs-neural-modules/node' are different module instances in Node");
const dir = mkdtempSync(join(tmpdir(), 'nm-consumer-esm-'));
try {
  const result = await exercise(tf, nm, {
    urls: [
      [`file://${dir}/router`, `file://${dir}/router/model.json`],
      [nm.io.fileSystem(join(dir, 'handler')), nm.io.fileSystem(join(dir, 'handler'))],
    ],
  });
  console.log(JSON.stringify(result));
} finally {
  rmSync(dir, { recursive: true, force: true });
}
