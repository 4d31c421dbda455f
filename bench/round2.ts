/**
 * The R2 goal figures (docs/PERFORMANCE.md, "The goals"), measured by `npm run bench:perf`
 * after its items 1–5: training steps in the package's fastest configuration
 * (`nm.optimizers.adam`, `nm.backend.fastTransposedMatMul()`, `nm.backend.setThreads(n)`,
 * the default 'auto' solver) next to the shipped defaults (tf.train.adam, tfjs' matMul,
 * the kernel threads the package starts by itself), in the same process and time window; the phases of the p = 3000 step;
 * with `--large` one epoch of UCI letter at p = 3000 with peak memory.
 */
import * as tf from '@tensorflow/tfjs';
import * as nm from 'tfjs-neural-modules';
import { resetDefaultThreads } from 'tfjs-neural-modules/internal';
import { measurePhases, phaseMarkdown } from './phase_table.js';
import { classifierStepMs } from './classifier_step.js';
import { letterEpoch } from './letter_epoch.js';
import { median } from './timing.js';

/** Options of {@link roundTwo}. */
export interface RoundTwoOptions {
  /** Kernel threads of the tuned configuration. */
  threads: number | 'auto';
  /** Steps per timing (median) and warm-up steps. */
  reps: number;
  warmup: number;
  /** Interleaved rounds (tuned and defaults alternate), medians over rounds. */
  rounds: number;
  /** letter.csv for the epoch, or null to skip it. */
  letterCsv: string | null;
  report: (what: string, value: string, target: string, note?: string) => void;
}

interface Arm {
  tuned: boolean;
}

/**
 * Switches the process to an arm's configuration; resolves to the thread count in use (the
 * defaults: 1 until a large layer has started the package's own threads).
 */
async function use(arm: Arm, threads: number | 'auto'): Promise<number> {
  nm.backend.fastTransposedMatMul({ enable: arm.tuned });
  if (arm.tuned) return nm.backend.setThreads(threads);
  // The defaults arm: what Node gets with no opt-in. No count chosen, so the default starts
  // one thread per core for layers large enough to split, and small layers stay on one
  // thread (setThreads('auto') would also split their GEMM across the threads).
  await nm.backend.setThreads(1);
  resetDefaultThreads();
  return 1;
}

function optimizerFor(arm: Arm): tf.Optimizer {
  return arm.tuned ? nm.optimizers.adam({ learningRate: 1e-3 }) : tf.train.adam(1e-3);
}

/** Median step time of a fresh `hidden → dense softmax` model in an arm's configuration. */
function stepMs(hidden: () => tf.layers.Layer, batch: number, features: number, classes: number, arm: Arm, reps: number, warmup: number): number {
  return classifierStepMs(hidden, () => optimizerFor(arm), { batch, features, classes }, reps, warmup);
}

const nmLayer = (units: number, features: number, density: number) => () =>
  nm.layers.neuralModule({ inputShape: [features], units, density, graphInitializer: new nm.layers.ContractiveGraph({ density, seed: 7 }) });

/**
 * Measures and reports the goal rows (R2.1–R2.5) through `o.report`; returns the
 * markdown phase table of the p = 3000 step (tuned configuration).
 *
 * @example
 * const phases = await roundTwo({ threads: 2, reps: 20, warmup: 10, rounds: 3, letterCsv: null, report });
 */
export async function roundTwo(o: RoundTwoOptions): Promise<string> {
  const cases = {
    nm3000: { run: nmLayer(3000, 16, 0.01), batch: 128, features: 16, classes: 26 },
    nm300: { run: nmLayer(300, 64, 0.05), batch: 64, features: 64, classes: 10 },
    dense300: { run: () => tf.layers.dense({ inputShape: [64], units: 300, activation: 'tanh' }), batch: 64, features: 64, classes: 10 },
    nm1000e15: { run: nmLayer(1000, 16, 15 / 999), batch: 128, features: 16, classes: 26 },
    nm3000e15: { run: nmLayer(3000, 16, 15 / 2999), batch: 128, features: 16, classes: 26 },
  };
  const names = Object.keys(cases) as Array<keyof typeof cases>;
  const times = new Map<string, number[]>();
  let threads = 1;
  for (let r = 0; r < o.rounds; r++) {
    for (const tuned of r % 2 ? [true, false] : [false, true]) {
      const n = await use({ tuned }, o.threads);
      if (tuned) threads = n;
      for (const name of names) {
        const c = cases[name];
        const key = `${name}|${tuned}`;
        times.set(key, [...(times.get(key) ?? []), stepMs(c.run, c.batch, c.features, c.classes, { tuned }, o.reps, o.warmup)]);
      }
    }
    process.stderr.write(`round two: round ${r + 1}/${o.rounds} done\n`);
  }
  const t = (name: keyof typeof cases, tuned: boolean) => median(times.get(`${name}|${tuned}`)!);
  const arms = `tuned = nm.optimizers.adam + fastTransposedMatMul + ${threads} kernel thread(s); defaults = tf.train.adam, tfjs matMul, kernel threads by default (one per core, large layers); medians of ${o.rounds} interleaved rounds`;
  o.report(
    'R2.1 NM(3000, ρ 0.01) step, batch 128, letter shapes',
    `tuned ${t('nm3000', true).toFixed(1)} ms, defaults ${t('nm3000', false).toFixed(1)} ms (×${(t('nm3000', false) / t('nm3000', true)).toFixed(2)})`,
    '≤ 70 ms',
    arms,
  );
  o.report(
    'R2.2 NM(300, ρ 0.05) step, batch 64; / Dense(300) step in the same configuration',
    `tuned ${t('nm300', true).toFixed(2)} ms (${(t('nm300', true) / t('dense300', true)).toFixed(2)}× Dense ${t('dense300', true).toFixed(2)} ms); defaults ${t('nm300', false).toFixed(2)} ms (${(t('nm300', false) / t('dense300', false)).toFixed(2)}× Dense ${t('dense300', false).toFixed(2)} ms)`,
    '≤ 4 ms and ≤ 1.2×',
  );
  const exponent = (tuned: boolean) => Math.log(t('nm3000e15', tuned) / t('nm1000e15', tuned)) / Math.log(3);
  o.report(
    'R2.3 growth exponent in p, p = 1000 → 3000 at 15 kept edges/node, batch 128',
    `tuned ${exponent(true).toFixed(2)} (${t('nm1000e15', true).toFixed(1)} → ${t('nm3000e15', true).toFixed(1)} ms); defaults ${exponent(false).toFixed(2)} (${t('nm1000e15', false).toFixed(1)} → ${t('nm3000e15', false).toFixed(1)} ms)`,
    '≤ 1.4',
  );

  await use({ tuned: true }, o.threads);
  const phases = phaseMarkdown(measurePhases({ p: 3000, density: 0.01, batch: 128, features: 16, classes: 26, reps: 15, optimizer: 'nm' }));

  if (o.letterCsv !== null) {
    const run = await letterEpoch(o.letterCsv, (n) => nmLayer(3000, n, 0.01)(), nm.optimizers.adam({ learningRate: 1e-3 }), 'letter p=3000 (tuned)');
    run.model.dispose();
    o.report(
      `R2.4 NM(3000, ρ 0.01) epoch on letter (${run.samples} samples, batch 128), tuned`,
      `${run.seconds.toFixed(1)} s, peak RSS ${run.peakGiB.toFixed(2)} GB`,
      '≤ 10 s, ≤ 2 GB',
      `${threads} kernel thread(s)`,
    );
  }
  nm.backend.fastTransposedMatMul({ enable: false });
  await nm.backend.setThreads(1);
  return phases;
}
