/**
 * The record of one variants.ts run and the Markdown tables over many (written to
 * <out>/<tag>.md by bench/structure/variants.ts).
 */

export interface EdgeClass {
  edges: number;
  meanC: number | null;
  meanAbsW: number;
}

export interface Run {
  variant: string;
  /** Nodes of the layer, when not 100 (`--p`). */
  p?: number;
  /** The layer's density, when not 0.05 (`--density`). */
  density?: number;
  seed: number;
  epochs: number;
  testError: number;
  /** Mean cross-entropy on the test part (more sensitive than the error on 270 samples). */
  testLoss: number;
  modules: number;
  largest: number;
  balance: number;
  cyclicModules: number;
  secondLargest: number;
  largestPerEpoch: number[];
  /** Training loss (incl. the penalty) of the last epoch. */
  finalLoss: number;
  census: Record<'coreCore' | 'otherCore' | 'coreOther' | 'otherOther', EdgeClass>;
  /** The top-K threshold γ (K-th largest |W|) of the final graph, and the median |W| of the kept edges. */
  gamma: number;
  medianKeptAbsW: number;
  /** Post hoc, on the final W: the graph of all off-diagonal edges with |W| ≥ τ (a threshold mask). */
  threshold: Array<{ tau: number; edges: number; largest: number; cyclicModules: number }>;
  seconds: number;
}

/** The thresholds τ of the post hoc threshold graphs (`Run.threshold`). */
export const TAUS = [0.05, 0.1, 0.2];
const mean = (a: number[]) => a.reduce((s, v) => s + v, 0) / a.length;
const sd = (a: number[]) => (a.length > 1 ? Math.sqrt(a.reduce((s, v) => s + (v - mean(a)) ** 2, 0) / (a.length - 1)) : 0);
const cell = (a: number[], d: number) => `${mean(a).toFixed(d)} ± ${sd(a).toFixed(d)}`;

/**
 * The setting of a run that is not its variant: the node count and density when they are
 * not the defaults (100, 0.05), and the epochs when the runs of one table differ in them.
 */
function settingOf(r: Run, manyEpochs: boolean): string {
  return [r.p !== undefined ? `p ${r.p}` : '', r.density !== undefined ? `ρ ${r.density}` : '', manyEpochs ? `${r.epochs} epochs` : '']
    .filter(Boolean)
    .join(', ');
}

export function tableOf(all: Run[]): string {
  const manyEpochs = new Set(all.map((r) => r.epochs)).size > 1;
  // Rows are labelled by variant and setting; `none` pairs with runs of its own setting.
  const runs = all.map((r) => {
    const setting = settingOf(r, manyEpochs);
    return { ...r, setting, isNone: r.variant === 'none', variant: setting ? `${r.variant} (${setting})` : r.variant };
  });
  const names = [...new Set(runs.map((r) => r.variant))];
  const head =
    '| variant | seeds | test error | test loss | modules | largest | balance (largest/mean) | modules ≥ 2 | 2nd largest | acyclic | core in-edges C (other→core) | core out-edges C (core→other) | core-internal C | s/run |';
  const lines = [head, `|${'---|'.repeat(14)}`];
  for (const n of names) {
    const rs = runs.filter((r) => r.variant === n);
    const f = (g: (r: Run) => number) => rs.map(g);
    const cMean = (key: keyof Run['census']) => {
      const v = rs.map((r) => r.census[key].meanC).filter((x): x is number => x != null);
      return v.length ? mean(v).toExponential(1) : '–';
    };
    lines.push(
      `| ${n} | ${rs.length} | ${cell(
        f((r) => r.testError),
        4,
      )} | ${cell(
        f((r) => r.testLoss ?? NaN),
        3,
      )} | ${cell(
        f((r) => r.modules),
        1,
      )} | ${cell(
        f((r) => r.largest),
        1,
      )} | ` +
        `${cell(
          f((r) => r.balance),
          2,
        )} | ${cell(
          f((r) => r.cyclicModules),
          1,
        )} | ${cell(
          f((r) => r.secondLargest),
          1,
        )} | ` +
        `${rs.filter((r) => r.largest === 1).length}/${rs.length} | ${cMean('otherCore')} | ${cMean('coreOther')} | ${cMean('coreCore')} | ${mean(f((r) => r.seconds)).toFixed(0)} |`,
    );
  }
  lines.push('', 'Dynamics of the largest module (from the per-epoch partition) and paired differences to `none` (same seeds):', '');
  lines.push(
    '| variant | largest after epoch 1 | mean \\|Δ largest\\| per epoch, last 10 epochs | runs with largest unchanged over the last 5 epochs | runs with largest ≤ 10 | median largest | Δ test error vs none | Δ test loss vs none |',
    '|---|---|---|---|---|---|---|---|',
  );
  const base = new Map(runs.filter((r) => r.isNone).map((r) => [`${r.setting}|${r.seed}`, r]));
  for (const n of names) {
    const rs = runs.filter((r) => r.variant === n);
    const first = rs.map((r) => r.largestPerEpoch[0]);
    const jitter = rs.map((r) => {
      const l = r.largestPerEpoch.slice(-11);
      let d = 0;
      for (let i = 1; i < l.length; i++) d += Math.abs(l[i] - l[i - 1]);
      return d / (l.length - 1);
    });
    const stable = rs.filter((r) => new Set(r.largestPerEpoch.slice(-5)).size === 1).length;
    const small = rs.filter((r) => r.largest <= 10).length;
    const sorted = rs.map((r) => r.largest).sort((a, b) => a - b);
    const median = sorted.length % 2 ? sorted[sorted.length >> 1] : (sorted[sorted.length / 2 - 1] + sorted[sorted.length / 2]) / 2;
    const baseOf = (r: (typeof runs)[number]) => base.get(`${r.setting}|${r.seed}`);
    const paired = rs.filter((r) => baseOf(r) !== undefined);
    const dErr = paired.map((r) => r.testError - baseOf(r)!.testError);
    const dLoss = paired.map((r) => (r.testLoss ?? NaN) - (baseOf(r)!.testLoss ?? NaN));
    lines.push(
      `| ${n} | ${cell(first, 1)} | ${cell(jitter, 1)} | ${stable}/${rs.length} | ${small}/${rs.length} | ${median} | ` +
        `${paired.length ? cell(dErr, 4) : '–'} | ${paired.length ? cell(dLoss, 3) : '–'} |`,
    );
  }
  lines.push('', 'Kept-edge census of the final graph (mean over seeds; core = the largest module):', '');
  lines.push(
    '| variant | core→core | other→core | core→other | other→other | mean \\|W\\| core→core | γ (K-th \\|W\\|) | median kept \\|W\\| | ' +
      TAUS.map((t) => `\\|W\\| ≥ ${t}: edges / largest / modules ≥ 2`).join(' | ') +
      ' |',
    `|${'---|'.repeat(8 + TAUS.length)}`,
  );
  for (const n of names) {
    const rs = runs.filter((r) => r.variant === n && r.gamma != null);
    if (!rs.length) continue;
    const c = (key: keyof Run['census']) => mean(rs.map((r) => r.census[key].edges)).toFixed(0);
    const th = TAUS.map((_, i) =>
      ['edges', 'largest', 'cyclicModules'].map((k) => mean(rs.map((r) => r.threshold[i][k as 'edges'])).toFixed(k === 'cyclicModules' ? 1 : 0)).join(' / '),
    );
    lines.push(
      `| ${n} | ${c('coreCore')} | ${c('otherCore')} | ${c('coreOther')} | ${c('otherOther')} | ${mean(rs.map((r) => r.census.coreCore.meanAbsW)).toFixed(3)} | ` +
        `${mean(rs.map((r) => r.gamma)).toFixed(3)} | ${mean(rs.map((r) => r.medianKeptAbsW)).toFixed(3)} | ${th.join(' | ')} |`,
    );
  }
  return lines.join('\n');
}
