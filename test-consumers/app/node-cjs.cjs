// Node, CommonJS: `require('tfjs-neural-modules')` (the CJS bundle of the node entry).
const tf = require('@tensorflow/tfjs');
const nm = require('tfjs-neural-modules');
const nmNode = require('tfjs-neural-modules/node');
const { mkdtempSync, rmSync } = require('node:fs');
const { tmpdir } = require('node:os');
const { join } = require('node:path');

(async () => {
  if (nm !== nmNode) throw new Error("require('tfjs-neural-modules') and require('tfjs-neural-modules/node') differ");
  if (typeof nm.io.fileSystem !== 'function') throw new Error('nm.io.fileSystem is missing under require()');
  const { exercise } = await import('./common.mjs');
  const dir = mkdtempSync(join(tmpdir(), 'nm-consumer-cjs-'));
  try {
    const result = await exercise(tf, nm, { urls: [[`file://${dir}/m`, `file://${dir}/m/model.json`]] });
    // Kernel threads from the CJS bundle (its worker is an inline script): a layer's output
    // on 2 threads must be the same bits as on 1.
    const layer = nm.layers.neuralModule({ units: 300, density: 0.05, graphInitializer: new nm.layers.ContractiveGraph({ density: 0.05, seed: 3 }) });
    const x = tf.randomNormal([64, 8], 0, 1, 'float32', 5);
    const outputOn = async (n) => {
      result.threads = await nm.backend.setThreads(n);
      return Buffer.from(layer.apply(x).dataSync().buffer).toString('base64');
    };
    const one = await outputOn(1);
    const two = await outputOn(2);
    result.threadsSameBits = one === two;
    await nm.backend.setThreads(1);
    console.log(JSON.stringify(result));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
})().catch((e) => {
  console.error(e);
  process.exit(1);
});
