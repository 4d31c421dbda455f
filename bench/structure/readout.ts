/**
 * `npm run bench:readout`: the planted-module teacher behind a classifier.
 *
 * The teacher of teacher.ts (k planted modules of m nodes) computes h*(u); the class of
 * a row is argmax(h*(u)·R) over C classes, with R a fixed random p × C readout
 * (N(0, 1/p)). The student is NeuralModule(p) followed by Dense(C, softmax), trained on
 * (u, class) only, so its node identities are not pinned to the teacher's: instead of
 * an ARI, this reports the student's module-size distribution next to the planted one
 * (k modules of m), the test accuracy, and that of a Dense(p, tanh) student (`nn`).
 * `--noise q` flips each training label to a uniformly drawn other class with
 * probability q (the test labels stay clean).
 *
 * Arms as in planted.ts (arms.ts), plus `nn`; only the regularizer, `prox`, `x2`,
 * `dense`, `every`, `sgd`, `contractive` and `free` options apply here.
 *
 * Usage: npx tsx bench/structure/readout.ts [--sizes 5x6,10x10] [--seeds 3]
 *          [--arms nn,none,excess:1e-2+prox+every:1] [--classes 5] [--noise 0.1]
 *          [--epochs 60] [--rows 3000] [--tag readout] [--out docs/results/structure]
 * Appends one JSON line per run to <out>/<tag>.jsonl and rewrites <out>/<tag>.md.
 */
import * as tf from '@tensorflow/tfjs';
import '@tensorflow/tfjs-backend-wasm';
import { appendFileSync, mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as nm from 'tfjs-neural-modules';
import { Random } from 'tfjs-neural-modules/internal';
import { withSeededRandom } from '../uci/seeded_random.js';
import { makeTeacher, teacherData, type Teacher } from './teacher.js';
import { parseArm, type Arm } from './arms.js';
import { flag } from '../flags.js';
import { commitOf, median, readRuns, sizesFlag } from './runs.js';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
const argv = process.argv.slice(2);
const SIZES = sizesFlag();
const SEEDS = Number(flag('seeds', '3'));
const FIRST_SEED = Number(flag('first-seed', '1'));
const ARMS = flag('arms', 'nn,none,excess:1e-2+prox+every:1').split(',');
const EPOCHS = Number(flag('epochs', '60'));
const ROWS = Number(flag('rows', '3000'));
const TEST_ROWS = 1000;
const CLASSES = Number(flag('classes', '5'));
const NOISE = Number(flag('noise', '0'));
const LR = Number(flag('lr', '1e-2'));
const SGD_LR = Number(flag('sgd-lr', '0.1'));
const BATCH = 64;
const N_INPUTS = Number(flag('inputs', '8'));
const OUT = resolve(ROOT, flag('out', 'docs/results/structure'));
const TAG = flag('tag', 'readout');
const TABLE_ONLY = argv.includes('--table-only');
const COMMIT = commitOf(ROOT);

interface Run {
  arm: string;
  size: string;
  seed: number;
  noise: number;
  classes: number;
  epochs: number;
  testAccuracy: number;
  /** Multi-node module sizes of the student, largest first (empty for `nn`). */
  multiSizes: number[];
  largest: number;
  nonConverged: number;
  seconds: number;
  commit: string;
}

const PLANTED_OPTIONS = ['anneal', 'hyst', 'floor', 'decay', 'final', 'prune'];

/** Class labels argmax(h*·R) of the teacher's clean outputs, R ~ N(0, 1/p) seeded; train labels flipped with probability `noise`. */
function labels(t: Teacher, clean: Float32Array, rows: number, r: Float64Array, noise: number, seed: number): Int32Array {
  const { p } = t;
  const rng = new Random(seed);
  const y = new Int32Array(rows);
  for (let i = 0; i < rows; i++) {
    let best = -Infinity;
    for (let c = 0; c < CLASSES; c++) {
      let s = 0;
      for (let j = 0; j < p; j++) s += clean[i * p + j] * r[j * CLASSES + c];
      if (s > best) [best, y[i]] = [s, c];
    }
    if (noise > 0 && rng.next() < noise) y[i] = (y[i] + 1 + rng.int(CLASSES - 1)) % CLASSES;
  }
  return y;
}

function hiddenLayer(arm: Arm | 'nn', t: Teacher, seed: number): { layer: tf.layers.Layer; reg: { dispose?: () => void } | null } {
  const p = t.p;
  if (arm === 'nn') {
    return {
      layer: tf.layers.dense({ inputShape: [N_INPUTS], units: p, activation: 'tanh', kernelInitializer: tf.initializers.glorotUniform({ seed: 1000 + seed }) }),
      reg: null,
    };
  }
  const density = Math.min(1, (arm.densityFactor * t.edges.length) / (p * (p - 1)));
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
  return { layer, reg };
}

async function run(spec: string, k: number, m: number, seed: number): Promise<Run> {
  const arm = spec === 'nn' ? 'nn' : parseArm(spec);
  if (arm !== 'nn') {
    const unsupported = spec.split('+').find((o) => PLANTED_OPTIONS.includes(o.split(':')[0]));
    if (arm.reg === 'oracle' || unsupported) throw new Error(`arm '${spec}': '${unsupported ?? 'oracle'}' applies to planted.ts only`);
  }
  const teacher = makeTeacher({ k, m, n: N_INPUTS, inside: 0.3, between: 2, gain: 0.8, seed: 100 + seed });
  const p = teacher.p;
  const readout = new Random(400 + seed);
  const r = Float64Array.from({ length: p * CLASSES }, () => readout.normal() / Math.sqrt(p));
  const train = teacherData(teacher, ROWS, 200 + seed);
  const test = teacherData(teacher, TEST_ROWS, 300 + seed);
  const ytrain = labels(teacher, train.clean, ROWS, r, NOISE, 500 + seed);
  const ytest = labels(teacher, test.clean, TEST_ROWS, r, 0, 0);
  const { layer, reg } = hiddenLayer(arm, teacher, seed);
  const model = tf.sequential();
  model.add(layer);
  model.add(tf.layers.dense({ units: CLASSES, activation: 'softmax', kernelInitializer: tf.initializers.glorotUniform({ seed: 3000 + seed }) }));
  const sgd = arm !== 'nn' && arm.sgd;
  model.compile({ optimizer: sgd ? tf.train.sgd(SGD_LR) : tf.train.adam(LR), loss: 'sparseCategoricalCrossentropy', metrics: ['accuracy'] });
  const ux = tf.tensor2d(train.u, [ROWS, N_INPUTS]);
  const yx = tf.tensor1d(Float32Array.from(ytrain));
  const tx = tf.tensor2d(test.u, [TEST_ROWS, N_INPUTS]);
  let nonConverged = 0;
  const warn = console.warn;
  console.warn = (...a: unknown[]) => {
    if (String(a[0]).includes('converge')) nonConverged++;
    else warn(...a);
  };
  const t0 = Date.now();
  try {
    const callbacks = arm === 'nn' ? [] : [nm.callbacks.modulePartition({ every: arm.every ?? 'epoch' })];
    await withSeededRandom(7000 + seed, () => model.fit(ux, yx, { epochs: EPOCHS, batchSize: BATCH, shuffle: true, verbose: 0, callbacks }));
  } finally {
    console.warn = warn;
  }
  const seconds = (Date.now() - t0) / 1000;
  const predicted = tf.tidy(() => (tf.argMax(model.predict(tx) as tf.Tensor, -1).dataSync() as Int32Array).slice());
  const testAccuracy = predicted.reduce((s, c, i) => s + (c === ytest[i] ? 1 : 0), 0) / TEST_ROWS;
  const sizes = layer instanceof nm.layers.NeuralModuleLayer ? layer.structure().moduleSizes : [];
  const multi = sizes.filter((z) => z >= 2).sort((a, b) => b - a);
  model.dispose();
  reg?.dispose?.();
  tf.dispose([ux, yx, tx]);
  return {
    arm: spec,
    size: `${k}x${m}`,
    seed,
    noise: NOISE,
    classes: CLASSES,
    epochs: EPOCHS,
    testAccuracy,
    multiSizes: multi,
    largest: sizes.length ? Math.max(...sizes) : 0,
    nonConverged,
    seconds,
    commit: COMMIT,
  };
}

function tableOf(runs: Run[]): string {
  const groups = new Map<string, Run[]>();
  for (const r of runs) {
    const key = `${r.size}|${r.noise}|${r.classes}|${r.epochs}|${r.arm}`;
    groups.set(key, [...(groups.get(key) ?? []), r]);
  }
  const lines = [
    '| size (k×m) | label noise | classes | epochs | arm | seeds | test accuracy (median, min–max) | multi-node modules (median count) | sizes of multi-node modules, per seed | planted |',
    '|---|---|---|---|---|---|---|---|---|---|',
  ];
  for (const [, rs] of groups) {
    const r0 = rs[0];
    const acc = rs.map((r) => r.testAccuracy);
    const sizes = r0.arm === 'nn' ? '–' : rs.map((r) => (r.multiSizes.length ? r.multiSizes.join(' ') : 'none')).join('; ');
    const [k, m] = r0.size.split('x');
    lines.push(
      `| ${r0.size} | ${r0.noise} | ${r0.classes} | ${r0.epochs} | ${r0.arm} | ${rs.length} | ${median(acc).toFixed(3)} (${Math.min(...acc).toFixed(3)}–${Math.max(...acc).toFixed(3)}) | ` +
        `${r0.arm === 'nn' ? '–' : median(rs.map((r) => r.multiSizes.length))} | ${sizes} | ${k} × ${m} |`,
    );
  }
  return lines.join('\n');
}

function writeTable(): void {
  const file = join(OUT, `${TAG}.jsonl`);
  const runs = readRuns<Run>(file);
  const commits = [...new Set(runs.map((r) => r.commit))].join(', ');
  const md = `# Planted modules behind a classifier (\`${TAG}\`)\n\nWritten by \`npx tsx bench/structure/readout.ts --table-only --tag ${TAG}\` from ${runs.length} runs at ${commits}.\n\n${tableOf(runs)}\n`;
  writeFileSync(join(OUT, `${TAG}.md`), md);
  console.log(md);
}

await tf.setBackend(flag('backend', 'wasm'));
mkdirSync(OUT, { recursive: true });
if (!TABLE_ONLY) {
  for (const [k, m] of SIZES) {
    for (let seed = FIRST_SEED; seed < FIRST_SEED + SEEDS; seed++) {
      for (const spec of ARMS) {
        const r = await run(spec, k, m, seed);
        appendFileSync(join(OUT, `${TAG}.jsonl`), JSON.stringify(r) + '\n');
        console.log(
          `${r.size} seed ${seed} ${r.arm}: test accuracy ${r.testAccuracy.toFixed(3)} modules ${JSON.stringify(r.multiSizes)} nonconv ${r.nonConverged} (${r.seconds.toFixed(1)} s)`,
        );
      }
    }
  }
}
writeTable();
