/**
 * `--trace` of planted.ts: one line per epoch on the mask and the graph (edges new in the
 * mask, the largest unkept |W|, recall of the kept mask and of the top-|E| entries), and
 * after training the planted and false edges by magnitude.
 */
import type * as tf from '@tensorflow/tfjs';
import type * as nm from 'tfjs-neural-modules';
import { fmt } from './planted_table.js';
import type { Teacher } from './teacher.js';

/** The fraction of the teacher's edges that the layer's kept mask holds. */
export function recall(layer: nm.layers.NeuralModuleLayer, t: Teacher): number {
  const mask = layer.edges().mask;
  return t.edges.filter((i) => mask[i] === 1).length / t.edges.length;
}

/** The per-epoch trace line (it remembers the previous epoch's mask). */
export class EpochTrace {
  private prevMask: Uint8Array | null = null;

  constructor(
    private readonly layer: nm.layers.NeuralModuleLayer,
    private readonly teacher: Teacher,
  ) {}

  line(epoch: number, logs: tf.Logs | undefined, nonConverged: number): void {
    const { layer, teacher } = this;
    const p = teacher.moduleOf.length;
    const s = layer.structure();
    const mask = layer.edges().mask;
    let changed = 0;
    const prevMask = this.prevMask;
    if (prevMask) for (let i = 0; i < mask.length; i++) if (mask[i] === 1 && prevMask[i] === 0) changed++;
    this.prevMask = mask.slice();
    const w = layer.graphValues();
    let maxOut = 0;
    for (let i = 0; i < w.length; i++) if (mask[i] === 0 && i % (p + 1) !== 0) maxOut = Math.max(maxOut, Math.abs(w[i]));
    const order = Array.from({ length: p * p }, (_, i) => i)
      .filter((i) => i % (p + 1) !== 0)
      .sort((a, b) => Math.abs(w[b]) - Math.abs(w[a]));
    const planted = new Set(teacher.edges);
    const topRecall = order.slice(0, teacher.edges.length).filter((i) => planted.has(i)).length / teacher.edges.length;
    console.log(
      `  epoch ${epoch + 1}: loss ${fmt(Number(logs?.loss))} ‖A‖₂ ${s.spectralNorm.toFixed(2)} γ ${s.gamma.toFixed(3)} max unkept ${maxOut.toFixed(3)} ` +
        `new edges ${changed}/${s.edges} top-|E| recall ${topRecall.toFixed(2)} recall ${recall(layer, teacher).toFixed(2)} largest ${s.largestModule} fwd ${Number(logs?.nm_fwd_iters).toFixed(1)} warn ${nonConverged}`,
    );
  }
}

/** After training: planted and false |W| quantiles, then the kept false edges and the unkept planted ones. */
export function traceFinal(layer: nm.layers.NeuralModuleLayer, teacher: Teacher): void {
  const p = teacher.moduleOf.length;
  {
    const w = layer.graphValues();
    const planted = new Set(teacher.edges);
    const q = (a: number[], f: number) => a[Math.min(a.length - 1, Math.floor(f * a.length))];
    const pl = teacher.edges.map((i) => Math.abs(w[i])).sort((a, b) => a - b);
    const tw = teacher.edges.map((i) => Math.abs(teacher.graph[i])).sort((a, b) => a - b);
    const fa: number[] = [];
    for (let i = 0; i < w.length; i++) if (i % (p + 1) !== 0 && !planted.has(i)) fa.push(Math.abs(w[i]));
    fa.sort((a, b) => b - a);
    console.log(
      `  planted |W| q0 ${q(pl, 0).toFixed(3)} q10 ${q(pl, 0.1).toFixed(3)} q50 ${q(pl, 0.5).toFixed(3)} (teacher q0 ${q(tw, 0).toFixed(3)} q50 ${q(tw, 0.5).toFixed(3)}); false |W| top ${fa
        .slice(0, 8)
        .map((v) => v.toFixed(3))
        .join(' ')} #>0.01 ${fa.filter((v) => v > 0.01).length} #>0 ${fa.filter((v) => v > 0).length}`,
    );
  }
  {
    // the kept false edges and the unkept planted ones, by magnitude (student and teacher)
    const w = layer.graphValues();
    const mask = layer.edges().mask;
    const planted = new Set(teacher.edges);
    const mod = (i: number) => `${teacher.moduleOf[Math.floor(i / p)]}→${teacher.moduleOf[i % p]}`;
    const kept = [...mask.keys()]
      .filter((i) => mask[i] === 1)
      .map((i) => Math.abs(w[i]))
      .sort((x, y) => x - y);
    console.log(`  kept |W| min ${kept[0]?.toFixed(3)} median ${kept[kept.length >> 1]?.toFixed(3)}`);
    for (let i = 0; i < w.length; i++) {
      if (mask[i] === 1 && !planted.has(i)) console.log(`  false kept ${i} modules ${mod(i)} |W| ${Math.abs(w[i]).toFixed(3)}`);
      if (mask[i] === 0 && planted.has(i))
        console.log(`  planted unkept ${i} modules ${mod(i)} |W| ${Math.abs(w[i]).toFixed(3)} teacher ${Math.abs(teacher.graph[i]).toFixed(3)}`);
    }
  }
}
