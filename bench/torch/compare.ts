/**
 * `npm run bench:torch`: this package's Neural Module training step against the same
 * layer coded in PyTorch (bench/torch/nm_step.py: sparse CSR and dense-masked A,
 * Anderson m = 5, tol 1e-4, implicit backward, dense gradient to all p² edges, Adam),
 * measured interleaved in the same time window: for each round, every configuration
 * runs once on each side (separate processes), and the table reports medians over
 * rounds and the ratios. Needs a python3 with torch (Debian: `apt-get install
 * python3-torch`; its default BLAS is the reference one, 30× slower than OpenBLAS on
 * matMul — select OpenBLAS with `update-alternatives --config libblas.so.3-x86_64-linux-gnu`
 * or install `libopenblas0-pthread`). Without it, it says so and exits 0.
 *
 *   npm run bench:torch -- [--rounds 5] [--large] [--python /usr/bin/python3]
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

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
const sides = [
  { name: 'this package (wasm)', run: (c: Config) => ['npx', ['tsx', `${here}ours_step.ts`, ...flags(c)]] as const },
  { name: 'PyTorch sparse, 1 thread', run: (c: Config) => [python, [`${here}nm_step.py`, ...flags(c), '--threads', '1', '--variant', 'sparse']] as const },
  { name: 'PyTorch sparse, 2 threads', run: (c: Config) => [python, [`${here}nm_step.py`, ...flags(c), '--threads', '2', '--variant', 'sparse']] as const },
  {
    name: 'PyTorch dense-masked, 2 threads',
    run: (c: Config) => [python, [`${here}nm_step.py`, ...flags(c), '--threads', '2', '--variant', 'dense']] as const,
  },
];
function flags(c: Config): string[] {
  return ['--p', String(c.p), '--density', String(c.density), '--batch', String(c.batch), '--features', String(c.features), '--classes', String(c.classes)];
}

const times = new Map<string, number[]>();
for (let r = 1; r <= rounds; r++) {
  for (const c of configs) {
    for (const s of sides) {
      const [cmd, args] = s.run(c);
      const outText = execFileSync(cmd, [...args], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] });
      const ms = JSON.parse(outText.trim().split('\n').pop()!).ms as number;
      const key = `${c.name}|${s.name}`;
      times.set(key, [...(times.get(key) ?? []), ms]);
      process.stderr.write(`round ${r}/${rounds} ${c.name} · ${s.name}: ${ms.toFixed(1)} ms\n`);
    }
  }
}
const median = (a: number[]) => a.slice().sort((x, y) => x - y)[Math.floor(a.length / 2)];
const torchVersion = execFileSync(python, ['-c', 'import torch; print(torch.__version__)'], { encoding: 'utf8' }).trim();
console.log(`\nTraining step, median of ${rounds} interleaved rounds (each a median of 20 steps after 10 warm-up); torch ${torchVersion} (${python}).\n`);
console.log(`| configuration | ${sides.map((s) => s.name).join(' | ')} | ours / best PyTorch |`);
console.log(`|---|${sides.map(() => '---').join('|')}|---|`);
for (const c of configs) {
  const m = sides.map((s) => median(times.get(`${c.name}|${s.name}`)!));
  console.log(`| ${c.name} | ${m.map((v) => v.toFixed(1)).join(' | ')} | ${(m[0] / Math.min(...m.slice(1))).toFixed(2)} |`);
}
