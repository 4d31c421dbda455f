// The exercise every consumer runs, with its own `tf` and `nm` (imported, required,
// bundled or from the page's globals): train NM(8, ρ = 0.3) → softmax on a tiny
// synthetic 3-class problem, check that the loss went down and the output shape,
// then save and load the model through each URL and compare predictions exactly.

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
  await tf.setBackend('cpu');
  await tf.ready();
  const { x, y, rows } = syntheticData(tf);
  const model = tf.sequential();
  model.add(nm.layers.neuralModule({ inputShape: [6], units: 8, density: 0.3 }));
  model.add(tf.layers.dense({ units: 3, activation: 'softmax' }));
  model.compile({ optimizer: tf.train.adam(0.05), loss: 'categoricalCrossentropy', metrics: ['accuracy'] });
  const history = await model.fit(x, y, {
    epochs: 8,
    batchSize: 16,
    verbose: 0,
    callbacks: [nm.callbacks.modulePartition()],
  });
  const loss = history.history.loss;
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
    backend: tf.getBackend(),
  };
}
