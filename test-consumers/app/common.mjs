// The exercise every consumer runs, with its own `tf` and `nm` (imported, required,
// bundled or from the page's globals): train NM(8, ρ = 0.3, elu) → softmax on a tiny
// synthetic 3-class problem with our callback next to plain objects (both orders),
// check that the loss went down and the output shape, then save and load the model
// through each URL and compare predictions exactly.

/** A deterministic 3-class problem: 6 features, 96 rows, class = argmax of 3 fixed projections. */
function syntheticData(tf) {
  let s = 12345;
  const rand = () => ((s = (s * 1103515245 + 12345) >>> 0) / 2 ** 32) * 2 - 1;
  const rows = 96;
  const x = [];
  const labels = [];
  for (let i = 0; i < rows; i++) {
    const r = Array.from({ length: 6 }, rand);
    const scores = [r[0] + r[1] - r[2], r[2] + r[3] - r[4], r[4] + r[5] - r[0]];
    x.push(r);
    labels.push(scores.indexOf(Math.max(...scores)));
  }
  return { x: tf.tensor2d(x), y: tf.oneHot(tf.tensor1d(labels, 'int32'), 3), rows };
}

function fail(message) {
  throw new Error(`consumer check failed: ${message}`);
}

/**
 * @param tf the app's tfjs
 * @param nm tfjs-neural-modules as the app sees it
 * @param opts.urls [saveUrl, loadUrl] pairs for the save/load round trips
 * @param opts.browser true in a browser build (then nm.io.fileSystem must refuse clearly)
 */
export async function exercise(tf, nm, { urls, browser = false }) {
  let useBest = null;
  if (browser) {
    // Headless Chromium here has no GPU: WebGL is software-rendered (SwiftShader) or absent,
    // about 30x slower than cpu for NM, so useBest() must not pick it.
    const best = await nm.backend.useBest({ quiet: true });
    const webgl = best.tried.find((t) => t.name === 'webgl');
    useBest = `${best.backend} (webgl: ${webgl ? (webgl.ok ? 'ok' : `${webgl.software ? 'software, ' : ''}${webgl.error ?? 'skipped'}`) : 'not tried'})`;
    if (best.backend === 'webgl') fail(`useBest() picked webgl with renderer ${webgl?.renderer ?? 'unknown'}`);
  }
  await tf.setBackend('cpu');
  await tf.ready();
  const { x, y, rows } = syntheticData(tf);
  const model = tf.sequential();
  // A non-default pointwise activation, as a Dense layer would take it, and the contraction
  // constraint (applied at each re-partition), which keeps training at this learning rate stable.
  model.add(
    nm.layers.neuralModule({ inputShape: [6], units: 8, density: 0.3, activation: 'elu', graphConstraint: nm.constraints.contractive({ bound: 0.9 }) }),
  );
  model.add(tf.layers.dense({ units: 3, activation: 'softmax' }));
  model.compile({ optimizer: tf.train.adam(0.03), loss: 'categoricalCrossentropy', metrics: ['accuracy'] });
  // Our callback next to a plain object, in both orders; re-partitioning every 3 batches
  // (5 batches an epoch of 96 rows at batch size 20) leaves the mask older than the last optimizer steps
  // whenever the count is not a multiple of 3, which the save/load round trips must survive.
  let userEpochs = 0;
  const plain = { onEpochEnd: async () => void userEpochs++ };
  const first = await model.fit(x, y, { epochs: 4, batchSize: 20, verbose: 0, callbacks: [nm.callbacks.modulePartition({ every: 3 }), plain] });
  const second = await model.fit(x, y, { epochs: 4, batchSize: 20, verbose: 0, callbacks: [plain, nm.callbacks.modulePartition({ every: 3 })] });
  if (userEpochs !== 8) fail(`the plain onEpochEnd ran ${userEpochs} times, expected 8`);
  for (const h of [first, second])
    if (!Array.isArray(h.history.nm_modules) || h.history.nm_modules.length !== 4)
      fail(`modulePartition did not log nm_modules: ${JSON.stringify(Object.keys(h.history))}`);
  const loss = [...first.history.loss, ...second.history.loss];
  const history = second;
  if (!(loss[loss.length - 1] < 0.8 * loss[0])) fail(`loss did not decrease enough: ${loss.join(', ')}`);
  const layer = model.layers[0];
  if (!(layer instanceof nm.layers.NeuralModuleLayer)) fail('model.layers[0] is not an nm.layers.NeuralModuleLayer');
  const out = model.predict(x);
  if (JSON.stringify(out.shape) !== JSON.stringify([rows, 3])) fail(`output shape ${JSON.stringify(out.shape)}`);
  const expected = Array.from(out.dataSync());

  const roundTrips = [];
  for (const [saveUrl, loadUrl] of urls) {
    await model.save(saveUrl);
    const loaded = await tf.loadLayersModel(loadUrl);
    const got = Array.from(loaded.predict(x).dataSync());
    if (got.length !== expected.length || got.some((v, i) => v !== expected[i])) {
      fail(`predictions after a save/load round trip (${typeof saveUrl === 'string' ? saveUrl : 'IOHandler'}) differ (first: ${got[0]} vs ${expected[0]})`);
    }
    if (loaded.layers[0].getClassName() !== 'NeuralModule') fail(`loaded layer class ${loaded.layers[0].getClassName()}`);
    roundTrips.push(typeof saveUrl === 'string' ? saveUrl.split('://')[0] : 'IOHandler');
  }

  let fileSystemInBrowser = null;
  if (browser) {
    try {
      nm.io.fileSystem('./model');
      fail('nm.io.fileSystem did not refuse in the browser build');
    } catch (e) {
      if (!/browser build/.test(String(e.message))) fail(`nm.io.fileSystem error does not explain itself: ${e.message}`);
      fileSystemInBrowser = e.name;
    }
  }
  return {
    lossFirst: loss[0],
    lossLast: loss[loss.length - 1],
    accuracy: history.history.acc?.at(-1) ?? history.history.accuracy?.at(-1),
    shape: out.shape,
    modules: layer.structure().moduleSizes.length,
    roundTrips,
    fileSystemInBrowser,
    useBest,
    backend: tf.getBackend(),
  };
}
