/**
 * Anderson acceleration (type II, Walker & Ni 2011), batched per sample. Keeps the
 * last `memory` residual differences ΔR (r_i = f(x_i) − x_i) and solves the
 * Tikhonov-regularized least-squares problem min‖r_t − ΔR·γ‖ per sample; the next
 * iterate is `β(f(x_t) − ΔG·γ) + (1−β)(x_t − ΔX·γ)`. Much faster than Picard on
 * slowly contracting modules (the DEQ setting, Bai et al. 2019).
 *
 * The large work (f, the Gram matrices ΔR·ΔRᵀ, the update) is tensor ops on the
 * active backend; the tiny k×k systems (k ≤ memory) are read back in one transfer
 * and solved in float64 on the CPU, which costs far less than k² tensor ops. A
 * sample whose system is singular or not finite takes a plain (mixed) Picard step
 * (counted in `stats.fallbacks`).
 * @example anderson(f, x0, resolveSolverOptions({ method: 'anderson', memory: 5 }))
 */
import * as tf from '@tensorflow/tfjs-core';
import { iterate } from './loop.js';
import { luSolveInPlace } from './small_linear.js';
import type { FixedPointMap, ResolvedSolverOptions, Solution } from './types.js';

/** Solves the per-sample regularized Gram systems; returns γ [B, k] and the fallback mask. */
function solveGram(packed: Float32Array, batch: number, k: number, lambda: number): { gamma: Float32Array; ok: Uint8Array } {
  const gamma = new Float32Array(batch * k);
  const ok = new Uint8Array(batch);
  const stride = k * k + k;
  const m = new Float64Array(k * k);
  const rhs = new Float64Array(k);
  for (let b = 0; b < batch; b++) {
    const base = b * stride;
    let trace = 0;
    for (let i = 0; i < k; i++) trace += packed[base + i * k + i];
    const reg = lambda * (trace / k) + 1e-20;
    for (let i = 0; i < k * k; i++) m[i] = packed[base + i];
    for (let i = 0; i < k; i++) {
      m[i * k + i] += reg;
      rhs[i] = packed[base + k * k + i];
    }
    let good = luSolveInPlace(m, rhs, k);
    for (let i = 0; i < k && good; i++) if (!Number.isFinite(rhs[i])) good = false;
    ok[b] = good ? 1 : 0;
    if (good) for (let i = 0; i < k; i++) gamma[b * k + i] = rhs[i];
  }
  return { gamma, ok };
}

export function anderson(f: FixedPointMap, x0: tf.Tensor2D, options: ResolvedSolverOptions): Solution {
  const { memory, beta, lambda } = options;
  const [batch, n] = x0.shape;
  // Previous x, g = f(x), r = g − x, and the differences between consecutive ones.
  let prev: { x: tf.Tensor2D; g: tf.Tensor2D; r: tf.Tensor2D } | null = null;
  const dX: tf.Tensor2D[] = [];
  const dG: tf.Tensor2D[] = [];
  const dR: tf.Tensor2D[] = [];
  const push = (list: tf.Tensor2D[], t: tf.Tensor2D) => {
    list.push(tf.keep(t));
    if (list.length > memory) list.shift()!.dispose();
  };
  const release = () => {
    if (prev) for (const t of [prev.x, prev.g, prev.r]) t.dispose();
  };
  return iterate(
    x0,
    options,
    (x, _t, ctx) => {
      const g = f(x);
      const r = tf.sub(g, x) as tf.Tensor2D;
      if (prev) {
        push(dX, tf.sub(x, prev.x));
        push(dG, tf.sub(g, prev.g));
        push(dR, tf.sub(r, prev.r));
      }
      release();
      prev = { x: tf.keep(tf.clone(x)), g: tf.keep(g), r: tf.keep(r) };
      const plain: tf.Tensor2D = beta === 1 ? tf.clone(g) : tf.add(tf.mul(g, beta), tf.mul(x, 1 - beta));
      const k = dR.length;
      if (k === 0) return plain;
      const stackR = tf.stack(dR, 1) as tf.Tensor3D; // [B, k, n]
      const gram = tf.reshape(tf.matMul(stackR, tf.transpose(stackR, [0, 2, 1])), [batch, k * k]);
      const rhs = tf.reshape(tf.matMul(stackR, tf.expandDims(r, 2)), [batch, k]);
      const { gamma, ok } = solveGram(tf.concat([gram, rhs], 1).dataSync() as Float32Array, batch, k, lambda);
      const bad = ok.length - ok.reduce((s, v) => s + v, 0);
      ctx.fallbacks += bad;
      const gammaT = tf.tensor3d(gamma, [batch, 1, k]);
      const comb = (list: tf.Tensor2D[]) => tf.reshape(tf.matMul(gammaT, tf.stack(list, 1) as tf.Tensor3D), [batch, n]) as tf.Tensor2D;
      let next: tf.Tensor2D = tf.sub(g, comb(dG));
      if (beta !== 1) next = tf.add(tf.mul(next, beta), tf.mul(tf.sub(x, comb(dX)), 1 - beta));
      if (bad === 0) return next;
      const okMask = tf.tensor2d(Float32Array.from(ok), [batch, 1]);
      return tf.add(tf.mul(next, okMask), tf.mul(plain, tf.sub(1, okMask))) as tf.Tensor2D;
    },
    () => {
      release();
      for (const t of [...dX, ...dG, ...dR]) t.dispose();
    },
  );
}
