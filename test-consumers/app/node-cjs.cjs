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
    console.log(JSON.stringify(result));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
})().catch((e) => {
  console.error(e);
  process.exit(1);
});
