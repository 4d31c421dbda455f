import '../src/platform/node.js';
import { KernelTeam } from '../src/kernels/threads/team.js';
import { sparseWasmBytes } from '../src/kernels/wasm_kernels.js';
const team = await KernelTeam.start(2);
const memory = new WebAssembly.Memory({ initial: 100, maximum: 65536, shared: true });
const module = new WebAssembly.Module(sparseWasmBytes('shared'));
const inst = new WebAssembly.Instance(module, { env: { memory } }).exports as any;
const id = team.attach(memory, module);
const n = 200000;
const x = 1024, o = 1024 + 4 * n;
const f = new Float32Array(memory.buffer, x, n); for (let i = 0; i < n; i++) f[i] = Math.random();
const time = (label: string, fn: () => void) => {
  const ts: number[] = [];
  for (let r = 0; r < 1000; r++) { const t0 = performance.now(); fn(); ts.push(performance.now() - t0); }
  ts.sort((a, b) => a - b);
  console.log(label, 'median us', (ts[500] * 1000).toFixed(1), 'p10', (ts[100] * 1000).toFixed(1));
};
for (let rep = 0; rep < 2; rep++) {
  time('main alone 200k', () => inst.tanh(x, o, n));
  time('worker alone 200k', () => team.run(id, 'tanh', [[x, o, 0], [x, o, n]], (a) => inst.tanh(a[0], a[1], a[2])));
  time('worker empty', () => team.run(id, 'tanh', [[x, o, 0], [x, o, 0]], (a) => inst.tanh(a[0], a[1], a[2])));
  time('both 200k each', () => team.run(id, 'tanh', [[x, o, n], [x + 4 * n, o + 4*n, 0]], (a) => inst.tanh(a[0], a[1], a[2])));
}
team.stop();
