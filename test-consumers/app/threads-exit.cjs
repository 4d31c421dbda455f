// Node, CommonJS: train on 2 kernel threads and do nothing else (no setThreads(1), no
// process.exit): the process must exit by itself, the workers never keep it alive.
const tf = require('@tensorflow/tfjs');
const nm = require('tfjs-neural-modules');

import('./threads-train.mjs')
  .then(({ trainOnThreads }) => trainOnThreads(tf, nm))
  .then((result) => console.log(JSON.stringify(result)))
  .catch((e) => {
    console.error(e);
    process.exitCode = 1;
  });
