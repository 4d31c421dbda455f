import * as tf from '@tensorflow/tfjs';
import '@tensorflow/tfjs-backend-wasm';
import * as nm from '../src/node.js';
import { hostEngine } from '../src/engine/host_engine.js';
import { Partition } from '../src/engine/partition.js';
import { nodeActivation } from '../src/layers/node_activation.js';
import { currentTeam } from '../src/kernels/threads/current.js';
import { timeIt } from './timing.js';
await tf.setBackend('wasm');
const p = 3000, density = 0.01, batch = 128;
const layer = nm.layers.neuralModule({ inputShape: [16], units: p, density, graphInitializer: new nm.layers.ContractiveGraph({ density, seed: 7 }) });
tf.sequential({ layers: [layer] });
const [U, W] = layer.getWeights() as tf.Tensor2D[];
const partition = new Partition(layer.edges());
const ctx = { partition, act: nodeActivation('tanh'), solver: layer.options.solver, backwardSolver: layer.options.backwardSolver, where: 'bench' };
const z = tf.randomNormal([batch, p], 0, 1, 'float32', 3) as tf.Tensor2D;
for (let r = 0; r < 3; r++) for (const th of [1, 2]) {
  await nm.backend.setThreads(th);
  const t = timeIt(() => { const f = hostEngine.forward(z, W, ctx); f.h.dispose(); }, 15, 3);
  const team = currentTeam();
  console.log('threads', th, 'forward ms', t.toFixed(1), team ? `chunks ${team.chunksTotal} by caller ${team.chunksByCaller}` : '');
}
await nm.backend.setThreads(1);
