import * as tf from '@tensorflow/tfjs';
import '@tensorflow/tfjs-backend-wasm';
import * as nm from '../src/node.js';
import { hostEngine } from '../src/engine/host_engine.js';
import { Partition } from '../src/engine/partition.js';
import { nodeActivation } from '../src/layers/node_activation.js';
await tf.setBackend('wasm');
const p = 3000, density = 0.01, batch = 128;
const layer = nm.layers.neuralModule({ inputShape: [16], units: p, density, graphInitializer: new nm.layers.ContractiveGraph({ density, seed: 7 }) });
tf.sequential({ layers: [layer] });
const [U, W] = layer.getWeights() as tf.Tensor2D[];
const partition = new Partition(layer.edges());
const ctx = { partition, act: nodeActivation('tanh'), solver: layer.options.solver, backwardSolver: layer.options.backwardSolver, where: 'bench' };
const z = tf.randomNormal([batch, p], 0, 1, 'float32', 3) as tf.Tensor2D;
await nm.backend.setThreads(Number(process.argv[2] ?? 1));
const dy = tf.randomNormal([batch, p], 0, 1e-3, 'float32', 3) as tf.Tensor2D;
for (let i = 0; i < 60; i++) { const f = hostEngine.forward(z, W, ctx); const a = hostEngine.adjoint(dy, [], f.state, ctx); a.v.dispose(); f.h.dispose(); }
await nm.backend.setThreads(1);
