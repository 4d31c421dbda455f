/**
 * `npm run bench:torch`: this package's Neural Module training step against the same
 * layer coded in PyTorch as a best-effort baseline (bench/torch/nm_step.py: node-major
 * layout, sparse CSR or dense-masked A, a lean batched Anderson m = 5, tol 1e-4, implicit
 * backward, dense gradient to all p² edges, torch.optim.Adam(foreach=True); its
 * `sparse-auto` variant uses the package's default solver rule, Picard then Anderson),
 * measured interleaved in the same time window: for each round, every configuration
 * runs once on each side (separate processes), and the table reports medians over
 * rounds. Our sides run the package's fastest configuration (default solver 'auto',
 * nm.optimizers.adam, fastTransposedMatMul) with 1 and with 2 kernel threads; the ratio
 * column is ours (2 threads) / the fastest PyTorch side. The PyTorch side's `--threads`
 * also sets OpenBLAS's thread count. Needs a python3 with torch (Debian: `apt-get install
 * python3-torch`; its default BLAS is the reference one, 30× slower than OpenBLAS on
 * matMul — select OpenBLAS with `update-alternatives --config libblas.so.3-x86_64-linux-gnu`
 * or install `libopenblas0-pthread`). Without it, it says so and exits 0.
 * `python3 bench/torch/nm_step.py --check` checks the PyTorch layer's output and gradients.
 * The PyTorch side runs with `OPENBLAS_CORETYPE` set from the CPU flags (avx512f →
 * SkylakeX, avx2 → Haswell; bench/torch/blas_core.ts) unless the user set it;
 * `--coretype detect` leaves it unset, `--coretype NAME` forces one. The header says which,
 * and the results name the core OpenBLAS reported.
 *
 *   npm run bench:torch -- [--rounds 5] [--large] [--python /usr/bin/python3] [--coretype auto|detect|NAME]
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { loadavg } from 'node:os';
import { fileURLToPath } from 'node:url';
import { runtimeLabel } from '../runtime.js';
import { chooseCoreType, cpuFlags } from './blas_core.js';

const arg = (name: string, dflt: string) => {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 && process.argv[i + 1] ? process.argv[i + 1] : dflt;
};
const here = fileURLToPath(new URL('.', import.meta.url));
const rounds = Number(arg('rounds', '5'));
const candidates = [arg('python', ''), '/usr/bin/python3', 'python3'].filter(Boolean);
const python = candidates.find((py) => spawnSync(py, ['-c', 'import torch'], { stdio: 'ignore' }).status === 0);
if (!python) {
  console.log(`bench:torch: no python3 with torch found (tried ${candidates.join(', ')}); install Debian's python3-torch. Nothing measured.`);
  process.exit(0);
}

const coreType = chooseCoreType(arg('coretype', 'auto'), process.env, cpuFlags());
/** The PyTorch side's environment: OPENBLAS_CORETYPE as chosen (unset when null). */
const torchEnv: NodeJS.ProcessEnv = { ...process.env };
if (coreType.value === null) delete torchEnv.OPENBLAS_CORETYPE;
else torchEnv.OPENBLAS_CORETYPE = coreType.value;
/** The core types OpenBLAS reported in the PyTorch runs (nm_step.py's blasCore; null: not OpenBLAS). */
const coresSeen = new Set<string>();

interface Config {
  name: string;
  p: number;
  density: number;
  batch: number;
  features: number;
  classes: number;
}
const configs: Config[] = [{ name: 'p=300, ρ 0.05, batch 64', p: 300, density: 0.05, batch: 64, features: 64, classes: 10 }];
if (process.argv.includes('--large')) {
  configs.push({ name: 'p=1000, 15 kept edges/node, batch 128', p: 1000, density: 15 / 999, batch: 128, features: 16, classes: 26 });
  configs.push({ name: 'p=3000, ρ 0.01 (30 edges/node), batch 128 (letter shapes)', p: 3000, density: 0.01, batch: 128, features: 16, classes: 26 });
  configs.push({ name: 'p=3000, 15 kept edges/node, batch 128', p: 3000, density: 15 / 2999, batch: 128, features: 16, classes: 26 });
}
const ours = (threads: number) => ({
  name: `this package, ${threads} thread${threads > 1 ? 's' : ''}`,
  // This process's Node (not the first on PATH), so the header's runtime is the one measured.
  run: (c: Config) =>
    [process.execPath, ['--import', 'tsx', `${here}ours_step.ts`, ...flags(c), '--threads', String(threads), '--optimizer', 'nm', '--fast-matmul']] as const,
});
const torchSide = (label: string, variant: string, threads: number) => ({
  name: `PyTorch ${label}, ${threads} thread${threads > 1 ? 's' : ''}`,
  run: (c: Config) => [python, [`${here}nm_step.py`, ...flags(c), '--threads', String(threads), '--variant', variant]] as const,
  env: torchEnv,
});
const sides = [
  ours(1),
  ours(2),
  torchSide('sparse', 'sparse', 1),
  torchSide('sparse', 'sparse', 2),
  torchSide('dense-masked', 'dense', 2),
  torchSide('sparse-auto', 'sparse-auto', 1),
  torchSide('sparse-auto', 'sparse-auto', 2),
];
const oursBest = 1; // index of "this package, 2 threads"
const firstTorch = 2;
function flags(c: Config): string[] {
  return ['--p', String(c.p), '--density', String(c.density), '--batch', String(c.batch), '--features', String(c.features), '--classes', String(c.classes)];
}

const loadBefore = loadavg();
const times = new Map<string, number[]>();
for (let r = 1; r <= rounds; r++) {
  for (const c of configs) {
    for (const s of sides) {
      const [cmd, args] = s.run(c);
      const env = 'env' in s ? s.env : process.env;
      const outText = execFileSync(cmd, [...args], { encoding: 'utf8', env, stdio: ['ignore', 'pipe', 'ignore'] });
      const result = JSON.parse(outText.trim().split('\n').pop()!) as { ms: number; blasCore?: string | null };
      const ms = result.ms;
      if ('blasCore' in result) coresSeen.add(String(result.blasCore));
      const key = `${c.name}|${s.name}`;
      times.set(key, [...(times.get(key) ?? []), ms]);
      process.stderr.write(`round ${r}/${rounds} ${c.name} · ${s.name}: ${ms.toFixed(1)} ms\n`);
    }
  }
}
const median = (a: number[]) => a.slice().sort((x, y) => x - y)[Math.floor(a.length / 2)];
const loadAfter = loadavg();
const torchVersion = execFileSync(python, ['-c', 'import torch; print(torch.__version__)'], { encoding: 'utf8' }).trim();
const commit = execFileSync('git', ['rev-parse', '--short', 'HEAD'], { cwd: here, encoding: 'utf8' }).trim();
const load = (l: number[]) => l.map((v) => v.toFixed(2)).join(' ');
console.log(
  `\nTraining step (ms), median of ${rounds} interleaved rounds (each a median of 20 steps; warm-up: PyTorch 10 steps, ours at least 10 steps and 3 s); commit ${commit}, ` +
    `${runtimeLabel()}, torch ${torchVersion} (${python}); OPENBLAS_CORETYPE ${coreType.value ?? 'unset'} (${coreType.source}); ` +
    `load average ${load(loadBefore)} before, ${load(loadAfter)} after.\n`,
);
console.log(`| configuration | ${sides.map((s) => s.name).join(' | ')} | ours (2 threads) / best PyTorch |`);
console.log(`|---|${sides.map(() => '---').join('|')}|---|`);
for (const c of configs) {
  const m = sides.map((s) => median(times.get(`${c.name}|${s.name}`)!));
  console.log(`| ${c.name} | ${m.map((v) => v.toFixed(1)).join(' | ')} | ${(m[oursBest] / Math.min(...m.slice(firstTorch))).toFixed(2)} |`);
}
console.log(
  `\nPyTorch's BLAS ran the kernels of core type ${[...coresSeen].map((c) => (c === 'null' ? 'none (not OpenBLAS)' : c)).join(', ')} ` +
    `(openblas_get_corename in nm_step.py), with OPENBLAS_CORETYPE ${coreType.value ?? 'unset'}.`,
);
