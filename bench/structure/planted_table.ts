/**
 * The record of one planted.ts run and the Markdown table over many (written to
 * <out>/<tag>.md by bench/structure/planted.ts).
 */
import { median } from './runs.js';

export interface Run {
  arm: string;
  size: string;
  seed: number;
  noise: number;
  epochs: number;
  ari: number;
  recall: number;
  multiSizes: number[];
  largest: number;
  trainMse: number;
  testMse: number;
  nonConverged: number;
  ariPerEpoch: number[];
  /** ARI of the partition from the graph averaged over the last n epoch ends, by n. */
  ariAvg?: Record<string, number>;
  /** Edge recall of that partition, by n. */
  recallAvg?: Record<string, number>;
  seconds: number;
  commit: string;
  /** Adam's rate, the batch size and the training rows, recorded when not the defaults (1e-2, 64, 1500). */
  lr?: number;
  batch?: number;
  rows?: number;
  /** The SGD rate of a `+sgd` arm (`--sgd-lr`). */
  sgdLr?: number;
  /** With `+rigl`: regrowth events and edges grown. */
  regrowth?: { events: number; grown: number };
  /** With `+settle`: the first epoch at a decayed rate (null: none) and the per-epoch agreement with the previous epoch's modules. */
  settleStart?: number | null;
  /** 'bench-side': a `+settle` run made with the trigger written in the bench before it moved into the library. */
  trigger?: 'bench-side';
  agreementPerEpoch?: number[];
}

/** A figure with three decimals, or in exponent form below 0.01. */
export const fmt = (v: number) => (Math.abs(v) >= 0.01 || v === 0 ? v.toFixed(3) : v.toExponential(1));

/** One row per size, noise, epochs and arm: ARI, recall, modules and MSE over the seeds. */
export function tableOf(runs: Run[]): string {
  const groups = new Map<string, Run[]>();
  for (const r of runs) {
    const key = `${r.size}|${r.noise}|${r.epochs}|${r.arm}`;
    groups.set(key, [...(groups.get(key) ?? []), r]);
  }
  const lines = [
    '| size (k×m) | noise | epochs | arm | seeds | ARI median (min–max) | ARI ≥ 0.9 | edge recall | multi-node modules (median count) | largest (median) | train MSE (median) | test MSE (median) | non-converged warnings |',
    '|---|---|---|---|---|---|---|---|---|---|---|---|---|',
  ];
  for (const [, rs] of groups) {
    const r0 = rs[0];
    const ari = rs.map((r) => r.ari);
    lines.push(
      `| ${r0.size} | ${r0.noise} | ${r0.epochs} | ${r0.arm} | ${rs.length} | ${median(ari).toFixed(2)} (${Math.min(...ari).toFixed(2)}–${Math.max(...ari).toFixed(2)}) | ` +
        `${rs.filter((r) => r.ari >= 0.9).length}/${rs.length} | ${median(rs.map((r) => r.recall)).toFixed(2)} | ${median(rs.map((r) => r.multiSizes.length))} | ` +
        `${median(rs.map((r) => r.largest))} | ${fmt(median(rs.map((r) => r.trainMse)))} | ${fmt(median(rs.map((r) => r.testMse)))} | ${rs.reduce((s, r) => s + r.nonConverged, 0)} |`,
    );
  }
  return lines.join('\n');
}
