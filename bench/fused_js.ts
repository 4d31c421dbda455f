/**
 * The fused Adam's JS loop (the path without WebAssembly SIMD, forced here with the
 * internal `kernels: 'js'`) against tf.train.adam on the wasm backend, on NM(3000)'s
 * 9.05 M weights (3000 × 3000 graph, 16 × 3000 input kernel, 3000 bias): one
 * `applyGradients` per arm per round, the order flipped every round, medians of 20 rounds
 * after 5.
 *
 *   npx tsx bench/fused_js.ts
 */
import * as tf from '@tensorflow/tfjs';
import '@tensorflow/tfjs-backend-wasm';
import * as nm from 'tfjs-neural-modules';
await tf.setBackend('wasm');
const shapes = [[3000, 3000], [16, 3000], [3000]];
const vars = shapes.map((s, i) => tf.variable(tf.randomNormal(s as number[], 0, 0.01), true, `w${i}`));
const grads = shapes.map((s) => tf.randomNormal(s as number[], 0, 0.01));
const named = () => Object.fromEntries(vars.map((v, i) => [v.name, grads[i]]));
const arms: Record<string, tf.Optimizer> = {
  'tf.train.adam': tf.train.adam(1e-3),
  'fused js': new nm.optimizers.FusedAdamOptimizer(1e-3, 0.9, 0.999, 1e-7, 'js'),
};
const times: Record<string, number[]> = { 'tf.train.adam': [], 'fused js': [] };
for (let r = 0; r < 25; r++) {
  const order = r % 2 === 0 ? Object.keys(arms) : Object.keys(arms).reverse();
  for (const k of order) {
    const t0 = performance.now();
    arms[k].applyGradients(named());
    await vars[0].data();
    if (r >= 5) times[k].push(performance.now() - t0);
  }
}
const med = (a: number[]) => a.sort((x, y) => x - y)[a.length >> 1];
console.log(
  Object.entries(times)
    .map(([k, v]) => `${k}: ${med(v).toFixed(1)} ms`)
    .join('; '),
  `(20 interleaved steps each after 5, ${process.version})`,
);
