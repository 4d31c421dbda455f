/**
 * The markdown report of bench/urn/seeds.ts: per variant the per-seed figures and their
 * mean ± std, and the paper's claims counted per seed ("held in k of n seeds").
 */
/** One JSONL line. */
export interface Row {
  experiment: 'spheres' | 'digits';
  variant: string;
  seed: number;
  epochs: number;
  settings: object;
  neurons: number;
  iterations: number;
  trainSeconds: number;
  testError: number;
  activeCount: number;
  layerWidths: number[];
  hiddenLayerWidths: number[];
  /** Non-empty hidden layers among layers 1 … I−1 (hidden neurons first active at I feed nothing the output reads). */
  hiddenLayers: number;
  multiIteration: number;
  weights: { forward: number; skip: number; backward: number; lateral: number; inactive: number; total: number };
  /** forward / (forward + backward + lateral) among active neurons, by emergent layer. */
  forwardFraction: number;
  geometric: { forward: number; backward: number; lateral: number; forwardFraction: number; meanLength: number; weightedMeanLength: number } | null;
  prune: {
    keptWeights: number;
    trainMaxDiff: number;
    trainThresholdMaxDiff: number;
    trainOutputScale: number;
    heldOutSamples: number;
    heldOutMaxLogitDiff: number;
    heldOutThresholdMaxLogitDiff: number;
    heldOutMaxProbDiff: number;
    heldOutOutputScale: number;
    prunedTestError: number;
    deltaTestError: number;
    flipped: number;
    /** The held-out check on the test inputs inside the training inputs' per-feature range (absent in rows written before it existed). */
    inRange?: { samples: number; maxLogitDiff: number; maxProbDiff: number; flipped: number };
  };
  commit: string;
  command: string;
}

const mean = (v: number[]) => v.reduce((a, b) => a + b, 0) / v.length;
const std = (v: number[]) => (v.length < 2 ? 0 : Math.sqrt(v.reduce((a, b) => a + (b - mean(v)) ** 2, 0) / (v.length - 1)));
const pm = (v: number[], digits: number, scale = 1) => `${(scale * mean(v)).toFixed(digits)} ± ${(scale * std(v)).toFixed(digits)}`;
const exp = (v: number) => v.toExponential(1);

/** A claim checked per seed (or per seed pair). */
interface Claim {
  text: string;
  holds: (rows: Row[]) => boolean;
  /** Rows it can be checked on (default: all). */
  applies?: (row: Row) => boolean;
}

/** The variant's rows of one seed, by variant name. */
type Seed = Record<string, Row>;

function claimsFor(experiment: Row['experiment']): { variant: string | null; claim: Claim }[] {
  const prune: Claim = {
    text: 'prune check on held-out test inputs: no test prediction changes (pruned test error = unpruned)',
    holds: ([r]) => r.prune.flipped === 0 && r.prune.deltaTestError === 0,
  };
  const pruneExact: Claim = {
    text: 'prune check on held-out test inputs: max \\|Δ logit\\| < 1e-3 × output scale ("no change in the output")',
    holds: ([r]) => r.prune.heldOutMaxLogitDiff < 1e-3 * r.prune.heldOutOutputScale,
  };
  const pruneInRange: Claim = {
    text: 'prune check on the held-out test inputs inside the training range: no prediction changes and max \\|Δ logit\\| < 1e-3 × output scale',
    holds: ([r]) => r.prune.inRange!.flipped === 0 && r.prune.inRange!.maxLogitDiff < 1e-3 * r.prune.trainOutputScale,
    applies: (r) => r.prune.inRange != null,
  };
  if (experiment === 'spheres') {
    const common = (v: string): { variant: string; claim: Claim }[] => [
      { variant: v, claim: { text: '100% test accuracy', holds: ([r]) => r.testError === 0 } },
      { variant: v, claim: { text: 'sparse: fewer than half of the S neurons active', holds: ([r]) => r.activeCount < r.neurons / 2 } },
      {
        variant: v,
        claim: { text: 'MLP-like: forward synapses (to a later emergent layer) outnumber backward + lateral ones', holds: ([r]) => r.forwardFraction > 0.5 },
      },
      { variant: v, claim: { text: 'pure layered reading: no neuron active at more than one iteration', holds: ([r]) => r.multiIteration === 0 } },
      { variant: v, claim: { text: 'skip synapses (forward by ≥ 2 emergent layers) present', holds: ([r]) => r.weights.skip > 0 } },
      { variant: v, claim: prune },
      { variant: v, claim: pruneExact },
      { variant: v, claim: pruneInRange },
    ];
    return [
      ...common('plain'),
      { variant: 'plain', claim: { text: 'eq. 3: an MLP with I − 1 = 3 hidden layers (Fig. 3)', holds: ([r]) => r.hiddenLayers === r.iterations - 1 } },
      ...common('residual-output'),
      { variant: 'residual-output', claim: { text: 'eq. 6: one hidden layer (Fig. 4)', holds: ([r]) => r.hiddenLayers === 1 } },
      {
        variant: null,
        claim: { text: 'eq. 6 gives fewer hidden layers than eq. 3 (same seed)', holds: ([p, r]) => r.hiddenLayers < p.hiddenLayers },
      },
    ];
  }
  const v = ['without-synaptic-length', 'with-synaptic-length'];
  return [
    ...v.flatMap((name) => [
      { variant: name, claim: prune },
      { variant: name, claim: pruneExact },
      { variant: name, claim: pruneInRange },
    ]),
    {
      variant: 'with-synaptic-length',
      claim: {
        text: 'with c_syn: feed-forward in z: most synapses go up in z (forward > backward + lateral)',
        holds: ([r]) => r.geometric!.forwardFraction > 0.5,
      },
    },
    {
      variant: null,
      claim: {
        text: 'with c_syn: a larger share of synapses go up in z than without (same seed)',
        holds: ([a, b]) => b.geometric!.forwardFraction > a.geometric!.forwardFraction,
      },
    },
    {
      variant: null,
      claim: {
        text: 'with c_syn: locally connected: shorter mean synapse length than without (same seed)',
        holds: ([a, b]) => b.geometric!.meanLength < a.geometric!.meanLength,
      },
    },
    {
      variant: null,
      claim: { text: 'with c_syn: lower test error than without (same seed; the paper: +10 points on CIFAR-10)', holds: ([a, b]) => b.testError < a.testError },
    },
    {
      variant: 'with-synaptic-length',
      claim: {
        text: 'with c_syn: the harder task uses every layer (hidden neurons in all of layers 1 … I − 1)',
        holds: ([r]) => r.hiddenLayers === r.iterations - 1,
      },
    },
  ];
}

export function report(experiment: Row['experiment'], rows: Row[]): string {
  const variants = [...new Set(rows.map((r) => r.variant))];
  const seeds = [...new Set(rows.map((r) => r.seed))].sort((a, b) => a - b);
  const bySeed = new Map<number, Seed>();
  for (const r of rows) bySeed.set(r.seed, { ...(bySeed.get(r.seed) ?? {}), [r.variant]: r });
  const out: string[] = [];
  const commits = [...new Set(rows.map((r) => r.commit))];
  const commands = [...new Set(rows.map((r) => r.command))];
  out.push(`# URN ${experiment}: ${seeds.length} seeds`, '');
  out.push(`Commit: ${commits.join(', ')}. Command(s):`, '', '```', ...commands, '```', '');
  out.push(`Epochs: ${rows[0].epochs}; settings: \`${JSON.stringify(rows[0].settings)}\`.`, '');
  out.push(
    'Structure read on the training inputs; prune check on the held-out test inputs (the structure zeroes every synapse j→k',
    'without j active at some iteration l and k active at l + 1 on the training inputs, and the biases of never-active neurons).',
    '',
  );
  for (const v of variants) {
    const rs = rows.filter((r) => r.variant === v).sort((a, b) => a.seed - b.seed);
    const geo = rs[0].geometric != null;
    out.push(`## ${v} (${rs.length} seeds)`, '');
    const head = [
      'seed',
      'test error %',
      'active / S',
      'layer widths 0…I',
      'hidden layers (1…I−1)',
      'multi-iteration',
      'fwd / skip / bwd / lat',
      ...(geo ? ['z: fwd / bwd / lat', 'z-forward %', 'mean length'] : []),
      'kept synapses',
      'train max \\|Δ\\|',
      'test max \\|Δ logit\\|',
      'test max \\|Δ prob\\|',
      'flipped',
      'Δ test error (points)',
      'in training range: samples / max \\|Δ logit\\| / flipped',
      'train s',
    ];
    out.push(`| ${head.join(' | ')} |`, `|${head.map(() => '---').join('|')}|`);
    for (const r of rs) {
      const g = r.geometric;
      out.push(
        `| ${[
          r.seed,
          (100 * r.testError).toFixed(2),
          `${r.activeCount} / ${r.neurons}`,
          `[${r.layerWidths.join(', ')}]`,
          `${r.hiddenLayers} ([${r.hiddenLayerWidths.join(', ')}])`,
          r.multiIteration,
          `${r.weights.forward} / ${r.weights.skip} / ${r.weights.backward} / ${r.weights.lateral}`,
          ...(g ? [`${g.forward} / ${g.backward} / ${g.lateral}`, (100 * g.forwardFraction).toFixed(1), g.meanLength.toFixed(2)] : []),
          r.prune.keptWeights,
          exp(r.prune.trainMaxDiff),
          `${exp(r.prune.heldOutMaxLogitDiff)} (scale ${r.prune.heldOutOutputScale.toFixed(1)})`,
          exp(r.prune.heldOutMaxProbDiff),
          `${r.prune.flipped} / ${r.prune.heldOutSamples}`,
          (100 * r.prune.deltaTestError).toFixed(2),
          r.prune.inRange ? `${r.prune.inRange.samples} / ${exp(r.prune.inRange.maxLogitDiff)} / ${r.prune.inRange.flipped}` : '–',
          r.trainSeconds.toFixed(0),
        ].join(' | ')} |`,
      );
    }
    const col = (f: (r: Row) => number) => rs.map(f);
    out.push(
      `| **mean ± std** | ${[
        pm(
          col((r) => r.testError),
          2,
          100,
        ),
        pm(
          col((r) => r.activeCount),
          1,
        ),
        `[${rs[0].layerWidths.map((_, l) => mean(col((r) => r.layerWidths[l])).toFixed(1)).join(', ')}]`,
        pm(
          col((r) => r.hiddenLayers),
          1,
        ),
        pm(
          col((r) => r.multiIteration),
          1,
        ),
        `${mean(col((r) => r.weights.forward)).toFixed(0)} / ${mean(col((r) => r.weights.skip)).toFixed(0)} / ${mean(col((r) => r.weights.backward)).toFixed(0)} / ${mean(col((r) => r.weights.lateral)).toFixed(0)}`,
        ...(geo
          ? [
              `${mean(col((r) => r.geometric!.forward)).toFixed(0)} / ${mean(col((r) => r.geometric!.backward)).toFixed(0)} / ${mean(col((r) => r.geometric!.lateral)).toFixed(0)}`,
              pm(
                col((r) => r.geometric!.forwardFraction),
                1,
                100,
              ),
              pm(
                col((r) => r.geometric!.meanLength),
                2,
              ),
            ]
          : []),
        pm(
          col((r) => r.prune.keptWeights),
          0,
        ),
        `max ${exp(Math.max(...col((r) => r.prune.trainMaxDiff)))}`,
        `max ${exp(Math.max(...col((r) => r.prune.heldOutMaxLogitDiff)))}`,
        `max ${exp(Math.max(...col((r) => r.prune.heldOutMaxProbDiff)))}`,
        `${mean(col((r) => r.prune.flipped)).toFixed(1)}`,
        pm(
          col((r) => r.prune.deltaTestError),
          2,
          100,
        ),
        rs.every((r) => r.prune.inRange) ? `max ${exp(Math.max(...col((r) => r.prune.inRange!.maxLogitDiff)))}` : '–',
        mean(col((r) => r.trainSeconds)).toFixed(0),
      ].join(' | ')} |`,
      '',
    );
  }
  out.push('## Claims, held in k of n seeds', '', '| variant | claim | k of n | seeds where it holds |', '|---|---|---|---|');
  const order = experiment === 'spheres' ? ['plain', 'residual-output'] : ['without-synaptic-length', 'with-synaptic-length'];
  for (const { variant, claim } of claimsFor(experiment)) {
    let k = 0;
    let n = 0;
    const held: number[] = [];
    for (const s of seeds) {
      const seed = bySeed.get(s)!;
      const args = variant ? [seed[variant]] : order.map((o) => seed[o]);
      if (args.some((a) => a == null)) continue;
      if (claim.applies && !args.every(claim.applies)) continue;
      n++;
      if (claim.holds(args)) {
        k++;
        held.push(s);
      }
    }
    if (n > 0) out.push(`| ${variant ?? order.join(' vs ')} | ${claim.text} | **${k} of ${n}** | ${held.join(', ') || '–'} |`);
  }
  out.push('');
  return out.join('\n');
}
