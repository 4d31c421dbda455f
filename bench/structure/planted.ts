/**
 * `npm run bench:planted`: does structure learning recover modules that exist?
 *
 * A teacher Neural Module graph of p = k·m nodes with k planted modules (teacher.ts)
 * generates (u, h*(u)); a student NeuralModule layer of the same p nodes is fitted to
 * all p node outputs (MSE), so node identities are pinned and the student's modules
 * (SCCs of its kept mask) can be compared with the planted ones node by node.
 *
 * Per arm and seed it records: adjusted Rand index (ARI) between the student's modules
 * and the planted ones, planted-edge recall of the kept mask, the multi-node module
 * sizes, train and test MSE (test against the clean targets), and how many solves
 * missed their tolerance.
 *
 * Arms (`--arms a,b,…`): see arms.ts, e.g. `none`, `oracle`, `excess:1e-2+prox+every:1`.
 * `+decay:<f>:<r>` decays Adam's rate geometrically from epoch fraction f to r× at the
 * end (the proximal thresholds η·α·C, η·λ shrink with it); `+decayk:<f>:<r>` the same
 * with the proximal steps at the undecayed rate (constant thresholds), done bench-side;
 * `+decay:<f>:<r>+rate:initial` the same through `modulePartition({ proximalRate: 'initial' })`.
 * `+from:teacher` trains from the teacher's own weights and mask: if the planted partition
 * decays from there, the regularized objective itself does not hold it.
 *
 * Every trained run also records `ariAvg`: the ARI (and edge recall, `recallAvg`) of the
 * partition re-chosen from the graph averaged over the last 10, 20 and 50 epoch ends,
 * computed after all other figures (it changes none of them; `+final:<n>` instead makes
 * that partition the layer's own before the figures are taken). Not with a mask policy
 * (`+hyst`, `+floor`, `+prune`): the readout re-chooses the layer's own top-K mask, which
 * is not the mask such a run trained with.
 * Fixed: Adam 1e-2 (`--lr`), batch 64 (`--batch`), `--epochs 40`, `--rows 1500` training rows
 * and 500 test rows, `--noise 0` (fraction of the targets' sd), seeded everything.
 *
 * Usage: npx tsx bench/structure/planted.ts [--sizes 5x6,10x10,20x15] [--seeds 3]
 *          [--arms none,l1:1e-3,excess:1e-2,oracle] [--tag planted] [--out docs/results/structure]
 *          [--trace] [--pictures <dir>]
 * Appends one JSON line per run to <out>/<tag>.jsonl and rewrites <out>/<tag>.md.
 */
import * as tf from '@tensorflow/tfjs';
import '@tensorflow/tfjs-backend-wasm';
import { appendFileSync, mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as nm from 'tfjs-neural-modules';
import { withSeededRandom } from '../uci/seeded_random.js';
import { adjustedRandIndex, makeTeacher, teacherData } from './teacher.js';
import { withMaskPolicy } from './mask_policy.js';
import { withRegrowth, type RegrowthStats } from './regrowth.js';
import { SplitOptimizer } from './split_optimizer.js';
import { EpochTrace, recall, traceFinal } from './trace.js';
import { fmt, tableOf, type Run } from './planted_table.js';
import { withAdamMetric, withUnkeptThreshold } from './proximal_hooks.js';
import { withReplicationGate, type ReplicationGate } from './replication_gate.js';
import { setTeacherWeights, teacherSnapshot, writeComparison } from './pictures.js';
import { flag } from '../flags.js';
import { commitOf, readRuns, sizesFlag } from './runs.js';
import { parseArm, type Arm } from './arms.js';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
const argv = process.argv.slice(2);
const SIZES = sizesFlag();
const SEEDS = Number(flag('seeds', '3'));
const FIRST_SEED = Number(flag('first-seed', '1'));
const ARMS = flag('arms', 'none,l1:1e-3,excess:1e-2,oracle').split(',');
const EPOCHS = Number(flag('epochs', '40'));
const ROWS = Number(flag('rows', '1500'));
const NOISE = Number(flag('noise', '0'));
const LR = Number(flag('lr', '1e-2'));
const SGD_LR = Number(flag('sgd-lr', '0.1'));
const BATCH = Number(flag('batch', '64'));
const N_INPUTS = Number(flag('inputs', '8'));
const OUT = resolve(ROOT, flag('out', 'docs/results/structure'));
const TAG = flag('tag', 'planted');
const TABLE_ONLY = argv.includes('--table-only');
const TRACE = argv.includes('--trace');
/** `--pictures <dir>`: per run, the planted modules beside the learned ones, SVG and PNG (pictures.ts). */
const PICTURES = flag('pictures', '') === '' ? null : resolve(flag('pictures', ''));
const COMMIT = commitOf(ROOT);
/** The windows (epochs) of the averaged-graph readout `ariAvg`. */
const AVG_WINDOWS = [10, 20, 50];

/** The module of every node of the layer's current partition. */
function moduleLabels(layer: nm.layers.NeuralModuleLayer): Int32Array {
  return nm.analysis.moduleLabels(layer.structure().modules);
}

/** The first epoch whose rate is below `rate0` (where a decay started), or null. */
function firstBelow(rates: number[], rate0: number): number | null {
  const i = rates.findIndex((r) => r < rate0);
  return i < 0 ? null : i;
}

/**
 * The density schedule's first phase: the same layer at density 1 (every edge in the
 * solve, so every gradient is the true one) trained `arm.anneal` epochs with the arm's
 * regularizer and re-partition, whose input kernel and graph then start `layer`
 * (re-partitioned to its own density).
 */
async function denseWarmUp(arm: Arm, layer: nm.layers.NeuralModuleLayer, ux: tf.Tensor, hy: tf.Tensor, p: number, seed: number): Promise<void> {
  const reg = arm.reg === 'oracle' || arm.annealPlain ? null : arm.reg(p);
  const dense = nm.layers.neuralModule({
    inputShape: [N_INPUTS],
    units: p,
    density: 1,
    inputInitializer: tf.initializers.glorotUniform({ seed: 1000 + seed }),
    graphInitializer: { className: 'NMContractiveGraph', config: { gain: 0.5, density: 1, seed: 2000 + seed } },
    graphRegularizer: reg,
  });
  const model = tf.sequential();
  model.add(dense);
  model.compile({ optimizer: arm.sgd ? tf.train.sgd(SGD_LR) : tf.train.adam(LR, 0.9, 0.999, arm.adamEpsilon ?? undefined), loss: 'meanSquaredError' });
  await withSeededRandom(6000 + seed, () =>
    model.fit(ux, hy, {
      epochs: arm.anneal,
      batchSize: BATCH,
      shuffle: true,
      verbose: 0,
      callbacks: [nm.callbacks.modulePartition({ every: arm.every ?? 'epoch' })],
    }),
  );
  const [kernel, graph] = dense.getWeights();
  layer.setWeights([kernel, graph, ...layer.getWeights().slice(2)]);
  layer.repartition();
  model.dispose();
  (reg as { dispose?: () => void } | null)?.dispose?.();
}

function mse(a: Float32Array, b: Float32Array): number {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += (a[i] - b[i]) ** 2;
  return s / a.length;
}

async function run(arm: Arm, k: number, m: number, seed: number): Promise<Run> {
  const teacher = makeTeacher({ k, m, n: N_INPUTS, inside: 0.3, between: 2, gain: 0.8, seed: 100 + seed });
  const p = teacher.p;
  const train = teacherData(teacher, ROWS, 200 + seed, NOISE);
  const test = teacherData(teacher, 500, 300 + seed);
  const density = Math.min(1, (arm.densityFactor * teacher.edges.length) / (p * (p - 1)));
  const reg = arm.reg === 'oracle' ? null : arm.reg(p);
  const layer = nm.layers.neuralModule({
    inputShape: [N_INPUTS],
    units: p,
    density,
    inputInitializer: tf.initializers.glorotUniform({ seed: 1000 + seed }),
    graphInitializer: { className: 'NMContractiveGraph', config: { gain: 0.5, density, seed: 2000 + seed } },
    graphRegularizer: reg,
    ...(arm.bound === 'none' ? { graphConstraint: null } : arm.bound != null ? { graphConstraint: nm.constraints.contractive({ bound: arm.bound }) } : {}),
  });
  const control =
    arm.hysteresis > 0 || arm.floor > 0 || arm.prune
      ? withMaskPolicy(layer, p, {
          hysteresis: arm.hysteresis,
          floor: arm.floor,
          bound: arm.bound === 'none' ? null : typeof arm.bound === 'number' ? arm.bound : 0.9,
        })
      : null;
  const model = tf.sequential();
  model.add(layer);
  if (arm.graphSgd != null && (arm.sgd || arm.decay)) throw new Error(`arm '${arm.name}': +gsgd does not combine with +sgd or a decay`);
  const optimizer = arm.sgd
    ? tf.train.sgd(SGD_LR)
    : arm.graphSgd != null
      ? new SplitOptimizer(tf.train.adam(LR, 0.9, 0.999, arm.adamEpsilon ?? undefined), tf.train.sgd(arm.graphSgd), (n) => /(^|\/)graph(_\d+)?$/.test(n))
      : tf.train.adam(LR, 0.9, 0.999, arm.adamEpsilon ?? undefined);
  model.compile({ optimizer, loss: 'meanSquaredError' });
  const ux = tf.tensor2d(train.u, [ROWS, N_INPUTS]);
  const hy = tf.tensor2d(train.h, [ROWS, p]);
  const tx = tf.tensor2d(test.u, [500, N_INPUTS]);
  let nonConverged = 0;
  const warn = console.warn;
  console.warn = (...a: unknown[]) => {
    if (String(a[0]).includes('converge')) nonConverged++;
    else warn(...a);
  };
  const ariPerEpoch: number[] = [];
  const graphHistory: Float32Array[] = [];
  /** The last AVG_WINDOWS.at(-1) epoch-end graphs, for the `ariAvg` readout. */
  const readoutHistory: Float32Array[] = [];
  /** The current learning-rate factor of `decay`/`decayk` (1 before the decay starts). */
  let lrFactor = 1;
  /** With `+settle` (the library's decayWhenSettled): per epoch the rate and the modules' agreement with the previous epoch's. */
  const settle = arm.settle ? { rates: [] as number[], agreement: [] as number[] } : null;
  if (arm.decayConstThreshold) {
    // the proximal step at the undecayed rate: thresholds η₀·α·C and η₀·λ stay constant
    const ownStep = layer.proximalStep.bind(layer);
    layer.proximalStep = (lr: number) => ownStep(lr / lrFactor);
  }
  if (arm.adamMetric !== null && reg && 'proximalStep' in reg) {
    const kept = Math.round(density * p * (p - 1));
    withAdamMetric(reg, optimizer, arm.adamMetric, kept, TRACE ? teacher.edges : null);
  }
  /** The epoch being trained (set at each epoch's begin). */
  let epochNow = 0;
  if (arm.outThreshold > 0 && reg && 'proximalStep' in reg) {
    const [from, to] = [arm.outFrom * EPOCHS, (arm.outTo ?? arm.outFrom) * EPOCHS];
    withUnkeptThreshold(reg, layer, arm.outThreshold, () =>
      epochNow < Math.floor(from) ? 0 : to > from ? Math.min(1, (epochNow + 1 - from) / (to - from)) : 1,
    );
  }
  let gate: ReplicationGate | null = null;
  if (arm.gate) {
    if (!(reg && 'proximalStep' in reg && arm.every === 1)) throw new Error(`arm '${arm.name}': +gate needs a proximal regularizer (+prox) and +every:1`);
    gate = withReplicationGate(reg, layer, model, ux, hy, arm.gate[0], 8000 + seed);
  }
  let regrowth: RegrowthStats | null = null;
  if (arm.regrowth) {
    if (!(reg && 'proximalStep' in reg && arm.proximal && arm.every === 1))
      throw new Error(`arm '${arm.name}': +rigl needs a proximal regularizer (+prox) and +every:1`);
    const [every, fraction, end] = arm.regrowth;
    const totalSteps = EPOCHS * Math.ceil(ROWS / BATCH);
    const planted = new Set(teacher.edges);
    const onEvent = TRACE
      ? (step: number, kept: number[], dropped: number[], grown: number[]) =>
          console.log(
            `  regrowth at step ${step}: ${kept.length} kept (${kept.filter((i) => planted.has(i)).length} planted), dropped ${dropped.length} (${dropped.filter((i) => planted.has(i)).length} planted), grown ${grown.length} (${grown.filter((i) => planted.has(i)).length} planted)`,
          )
      : undefined;
    regrowth = withRegrowth(layer, reg, optimizer, p, { every, fraction, end, totalSteps, budget: layer.keptEdgeCapacity(), onEvent });
  }
  const epochTrace = new EpochTrace(layer, teacher);
  const t0 = Date.now();
  try {
    if (arm.reg === 'oracle' || arm.fromTeacher) setTeacherWeights(layer, teacher, N_INPUTS);
    if (arm.reg !== 'oracle') {
      const callbacks = [
        {
          // before modulePartition, so the proximal step of an epoch's batches uses this rate
          onEpochBegin: async (epoch: number) => {
            epochNow = epoch;
            if (gate && epoch % arm.gate![1] === 0) gate.refresh();
            if (arm.prune && control && epoch === Math.floor(arm.prune[1] * EPOCHS)) {
              control.policy.floor = arm.prune[0];
              layer.repartition();
              control.frozen = true;
            }
            if (!arm.decay) return;
            const [from, to] = arm.decay;
            const start = Math.floor(from * EPOCHS);
            const t = epoch < start ? 0 : (epoch - start + 1) / Math.max(1, EPOCHS - start);
            lrFactor = Math.pow(to, t);
            (optimizer as unknown as { learningRate: number }).learningRate = (arm.sgd ? SGD_LR : LR) * lrFactor;
          },
        },
        nm.callbacks.modulePartition({
          every: arm.every ?? 'epoch',
          ...(arm.settle
            ? { decayWhenSettled: { patience: arm.settle[0], agreement: arm.settle[1], factor: arm.settle[2], latest: arm.settle[3] } }
            : { proximalRate: arm.proximalRate }),
        }),
        {
          onEpochEnd: async (epoch: number, logs?: tf.Logs) => {
            if (arm.finalAvg > 0) {
              graphHistory.push(layer.graphValues());
              if (graphHistory.length > arm.finalAvg) graphHistory.shift();
            }
            readoutHistory.push(layer.graphValues());
            if (readoutHistory.length > AVG_WINDOWS[AVG_WINDOWS.length - 1]) readoutHistory.shift();
            ariPerEpoch.push(adjustedRandIndex(moduleLabels(layer), teacher.moduleOf));
            settle?.rates.push(Number(logs?.nm_lr));
            settle?.agreement.push(Number(logs?.nm_agreement));
            if (TRACE) epochTrace.line(epoch, logs, nonConverged);
            if (TRACE && gate) console.log(`  gate: ${gate.allowedCount()} unkept edges allowed`);
          },
        },
      ];
      if (arm.anneal > 0) await denseWarmUp(arm, layer, ux, hy, p, seed);
      const epochs = EPOCHS - arm.anneal;
      await withSeededRandom(7000 + seed, () => model.fit(ux, hy, { epochs, batchSize: BATCH, shuffle: true, verbose: 0, callbacks }));
      if (arm.finalAvg > 0) {
        // the mask from the averaged graph; the weights stay the last ones (masked accordingly)
        const last = layer.graphValues();
        const avg = new Float32Array(p * p);
        for (const g of graphHistory) for (let i = 0; i < avg.length; i++) avg[i] += g[i] / graphHistory.length;
        const set = (g: Float32Array) => {
          const ws = layer.getWeights().slice();
          const t = tf.tensor2d(g, [p, p]);
          ws[1] = t;
          layer.setWeights(ws);
          t.dispose();
        };
        set(avg);
        layer.repartition();
        const mask = layer.edges().mask;
        for (let i = 0; i < p * p; i++) if (i % (p + 1) !== 0 && mask[i] === 1 && last[i] === 0) last[i] = avg[i];
        set(last);
      }
      layer.resetWarnings();
    }
  } finally {
    console.warn = warn;
  }
  const seconds = (Date.now() - t0) / 1000;
  if (TRACE) traceFinal(layer, teacher);
  const predict = (x: tf.Tensor) => tf.tidy(() => (model.predict(x) as tf.Tensor).dataSync() as Float32Array);
  const s = layer.structure();
  const multi = s.moduleSizes.filter((z) => z >= 2).sort((a, b) => b - a);
  const out: Run = {
    arm: arm.name,
    size: `${k}x${m}`,
    seed,
    noise: NOISE,
    ...(LR !== 1e-2 ? { lr: LR } : {}),
    ...(BATCH !== 64 ? { batch: BATCH } : {}),
    ...(ROWS !== 1500 ? { rows: ROWS } : {}),
    ...(arm.sgd ? { sgdLr: SGD_LR } : {}),
    epochs: arm.reg === 'oracle' ? 0 : EPOCHS,
    ari: adjustedRandIndex(moduleLabels(layer), teacher.moduleOf),
    recall: recall(layer, teacher),
    multiSizes: multi,
    largest: s.largestModule,
    trainMse: mse(predict(ux), train.clean),
    testMse: mse(predict(tx), test.clean),
    nonConverged,
    ariPerEpoch,
    seconds,
    commit: COMMIT,
    ...(regrowth ? { regrowth: { ...regrowth } } : {}),
    ...(settle ? { settleStart: firstBelow(settle.rates, LR), agreementPerEpoch: settle.agreement } : {}),
  };
  if (PICTURES) {
    const name = `${k}x${m}-noise${NOISE}-seed${seed}-${arm.name}`;
    const caption = `learned, ARI ${out.ari.toFixed(2)}`;
    const title = `${k}×${m} planted modules, noise ${NOISE}, seed ${seed}: ${arm.name}, ${out.epochs} epochs`;
    console.log(`  picture: ${await writeComparison(PICTURES, name, teacherSnapshot(teacher, N_INPUTS, density), layer, caption, title)}`);
  }
  if (readoutHistory.length > 0 && control === null) {
    // last: it replaces the layer's graph and mask (the layer's own re-partition, so not under a mask policy)
    out.ariAvg = {};
    out.recallAvg = {};
    for (const n of AVG_WINDOWS) {
      const hist = readoutHistory.slice(-n);
      const avg = new Float32Array(p * p);
      for (const g of hist) for (let i = 0; i < avg.length; i++) avg[i] += g[i] / hist.length;
      const ws = layer.getWeights().slice();
      const t = tf.tensor2d(avg, [p, p]);
      ws[1] = t;
      layer.setWeights(ws);
      t.dispose();
      nm.layers.NeuralModuleLayer.prototype.repartition.call(layer);
      out.ariAvg[n] = adjustedRandIndex(moduleLabels(layer), teacher.moduleOf);
      out.recallAvg[n] = recall(layer, teacher);
    }
  }
  model.dispose();
  (reg as { dispose?: () => void } | null)?.dispose?.();
  gate?.dispose();
  tf.dispose([ux, hy, tx]);
  return out;
}

function writeTable(): void {
  const file = join(OUT, `${TAG}.jsonl`);
  const runs = readRuns<Run>(file);
  const commits = [...new Set(runs.map((r) => r.commit))].join(', ');
  const md = `# Planted modules (\`${TAG}\`)\n\nWritten by \`npx tsx bench/structure/planted.ts --table-only --tag ${TAG}\` from ${runs.length} runs at ${commits}.\n\n${tableOf(runs)}\n`;
  writeFileSync(join(OUT, `${TAG}.md`), md);
  console.log(md);
}

await tf.setBackend(flag('backend', 'wasm'));
mkdirSync(OUT, { recursive: true });
if (!TABLE_ONLY) {
  const arms = ARMS.map(parseArm);
  for (const [k, m] of SIZES) {
    for (let seed = FIRST_SEED; seed < FIRST_SEED + SEEDS; seed++) {
      for (const arm of arms) {
        const r = await run(arm, k, m, seed);
        appendFileSync(join(OUT, `${TAG}.jsonl`), JSON.stringify(r) + '\n');
        console.log(
          `${r.size} seed ${seed} ${r.arm}: ARI ${r.ari.toFixed(3)} recall ${r.recall.toFixed(2)} modules ${JSON.stringify(r.multiSizes)} ` +
            `train ${fmt(r.trainMse)} test ${fmt(r.testMse)} nonconv ${r.nonConverged} (${r.seconds.toFixed(1)} s)` +
            (r.ariAvg
              ? ` avg-graph ARI ${Object.entries(r.ariAvg)
                  .map(([n, a]) => `${n}: ${a.toFixed(3)}`)
                  .join(', ')}`
              : ''),
        );
      }
    }
  }
}
writeTable();
