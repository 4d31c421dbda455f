/**
 * Anderson acceleration (type II, Walker & Ni 2011), batched per sample in tensor
 * ops. Keeps the last `memory` residuals r_i = f(x_i) − x_i and solves the
 * regularized least-squares problem min‖r_t − ΔR·γ‖ per sample; the next iterate is
 * `β(f(x_t) − ΔG·γ) + (1−β)(x_t − ΔX·γ)`. Much faster than Picard on slowly
 * contracting modules (the DEQ setting, Bai et al. 2019). If a Gram system is
 * singular and γ is not finite, that sample takes a plain Picard step; such
 * fallbacks are counted in `stats.fallbacks`.
 * @example anderson(f, x0, resolveSolverOptions({ method: 'anderson', memory: 5 }))
 */
import * as tf from '@tensorflow/tfjs-core';
import { iterate } from './loop.js';
import { batchedSpdSolve } from './small_linear.js';
import type { FixedPointMap, ResolvedSolverOptions, Solution } from './types.js';

export function anderson(f: FixedPointMap, x0: tf.Tensor2D, options: ResolvedSolverOptions): Solution {
  const { memory, beta, lambda } = options;
  const xs: tf.Tensor2D[] = [];
  const gs: tf.Tensor2D[] = [];
  const rs: tf.Tensor2D[] = [];
  let fallbacks: tf.Scalar = tf.keep(tf.scalar(0));
  const push = (list: tf.Tensor2D[], t: tf.Tensor2D) => {
    list.push(tf.keep(t));
    if (list.length > memory + 1) list.shift()!.dispose();
  };
  return iterate(
    x0,
    options,
    (x) => {
      const g = f(x);
      const r = tf.sub(g, x) as tf.Tensor2D;
      push(xs, tf.clone(x));
      push(gs, g);
      push(rs, r);
      const k = rs.length - 1;
      const plain: tf.Tensor2D = beta === 1 ? tf.clone(g) : tf.add(tf.mul(g, beta), tf.mul(x, 1 - beta));
      if (k === 0) return plain;
      const diff = (list: tf.Tensor2D[]) => tf.stack(list.slice(1).map((t, i) => tf.sub(t, list[i])), 1) as tf.Tensor3D;
      const dR = diff(rs); // [B, k, n]
      const dG = diff(gs);
      const gram = tf.matMul(dR, dR, false, true); // [B, k, k]
      const eye = tf.expandDims(tf.eye(k), 0);
      const scale = tf.add(tf.mul(tf.div(tf.sum(tf.mul(gram, eye), [1, 2], true), k), lambda), 1e-20);
      const rhs = tf.squeeze(tf.matMul(dR, tf.expandDims(r, 2)), [2]) as tf.Tensor2D; // [B, k]
      const gammaRaw = batchedSpdSolve(tf.add(gram, tf.mul(eye, scale)) as tf.Tensor3D, rhs);
      const ok = tf.all(tf.isFinite(gammaRaw), 1, true); // [B, 1]
      const old = fallbacks;
      fallbacks = tf.keep(tf.add(old, tf.sum(tf.cast(tf.logicalNot(ok), 'float32'))));
      old.dispose();
      const gamma = tf.where(tf.isFinite(gammaRaw), gammaRaw, tf.zerosLike(gammaRaw));
      const comb = (d: tf.Tensor3D) => tf.squeeze(tf.matMul(tf.expandDims(gamma, 1), d), [1]) as tf.Tensor2D;
      let next: tf.Tensor2D = tf.sub(g, comb(dG));
      if (beta !== 1) next = tf.add(tf.mul(next, beta), tf.mul(tf.sub(x, comb(diff(xs))), 1 - beta));
      return tf.where(tf.tile(ok, [1, x.shape[1]]), next, plain) as tf.Tensor2D;
    },
    (ctx) => {
      ctx.fallbacks = fallbacks.dataSync()[0];
      fallbacks.dispose();
      for (const t of [...xs, ...gs, ...rs]) t.dispose();
    },
  );
}
