// TypeScript, CommonJS file (.cts) under nodenext: the `require` branch of the
// package exports and its .d.cts declarations.
import tf = require('@tensorflow/tfjs');
import nm = require('tfjs-neural-modules');

const layer: nm.layers.NeuralModuleLayer = nm.layers.neuralModule({ inputShape: [4], units: 8, density: 0.3 });
const model = tf.sequential({ layers: [layer, tf.layers.dense({ units: 2, activation: 'softmax' })] });
const out = model.predict(tf.ones([5, 4])) as tf.Tensor;
if (out.shape.join('x') !== '5x2') throw new Error(`output shape ${out.shape}`);
const handler: ReturnType<typeof nm.io.fileSystem> = nm.io.fileSystem('./unused');
console.log(JSON.stringify({ shape: out.shape, handler: typeof handler.load }));
