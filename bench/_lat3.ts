import '../src/platform/node.js';
import { KernelTeam } from '../src/kernels/threads/team.js';
import { sparseWasmBytes } from '../src/kernels/wasm_kernels.js';
const team = await KernelTeam.start(2);
const memory = new WebAssembly.Memory({ initial: 100, maximum: 65536, shared: true });
const module = new WebAssembly.Module(sparseWasmBytes('shared'));
const inst = new WebAssembly.Instance(module, { env: { memory } }).exports as any;
const id = team.attach(memory, module);
const ts: number[] = [];
for (let r = 0; r < 3000; r++) { const t0 = performance.now(); team.run(id, 'tanh', [[0, 0, 0], [0, 0, 0]], (a) => inst.tanh(a[0], a[1], a[2])); ts.push(performance.now() - t0); }
console.log(ts.filter((_, i) => i % 100 === 0).map((t) => (t * 1000).toFixed(0)).join(' '));
team.stop();
