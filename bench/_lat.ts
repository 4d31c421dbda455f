import '../src/platform/node.js';
import { KernelTeam } from '../src/kernels/threads/team.js';
import { createWasmKernels, arenaBytes } from '../src/kernels/index.js';
const team = await KernelTeam.start(2);
const k = createWasmKernels({ team });
const team2 = await KernelTeam.start(2);
const kStopped = createWasmKernels({ team: team2 });
team2.stop();
const one = createWasmKernels({ team: null });
for (let rep = 0; rep < 2; rep++)
for (const [name, kern] of [['plain', one], ['shared local', kStopped], ['shared 2 threads', k]] as const) {
  for (const n of [400000]) {
    kern.arena.reset(arenaBytes([n, n]));
    const x = kern.arena.f32(n), o = kern.arena.f32(n);
    for (let i = 0; i < n; i++) x[i] = Math.random();
    const ts: number[] = [];
    for (let r = 0; r < 1000; r++) {
      const t0 = performance.now();
      kern.tanh(x, o);
      ts.push(performance.now() - t0);
    }
    ts.sort((a, b) => a - b);
    console.log(name, 'n', n, 'median us', (ts[500] * 1000).toFixed(1), 'p10', (ts[100] * 1000).toFixed(1));
  }
}
team.stop();
