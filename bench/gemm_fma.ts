/**
 * How much a fused multiply-add would buy the graph-gradient GEMM: the shipped kernel
 * (src/kernels/gemm.wat, f32x4.mul then f32x4.add) against the same text with every
 * mul+add pair replaced by `f32x4.relaxed_madd` (WebAssembly relaxed SIMD), compiled
 * here with the wabt dev dependency. Single thread, p = 3000, B = 128 (the letter
 * step's product), median of interleaved reps, GFLOP/s = 2·p²·B / time.
 *
 * Relaxed SIMD is on by default in Chrome ≥ 114 and Node ≥ 22; Node 20 (V8 11.3) has it
 * behind a flag, so on Node 20 run:
 *
 *   node --experimental-wasm-relaxed-simd --import tsx bench/gemm_fma.ts [--p 3000] [--B 128] [--reps 9]
 *
 * Without relaxed SIMD it times the shipped kernel alone and says so. The package does
 * not ship the FMA variant: its rounding differs from tfjs' matMul and from the kernels'
 * documented f32 rule, and this Node needs a flag for it (docs/PERFORMANCE.md).
 */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import initWabt from 'wabt';
import { GEMM_WAT_URL, gemmPackedBytes } from 'tfjs-neural-modules/internal';

const arg = (name: string, dflt: number) => {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? Number(process.argv[i + 1]) : dflt;
};
const [p, B, reps] = [arg('p', 3000), arg('B', 128), arg('reps', 9)];

const source = readFileSync(fileURLToPath(GEMM_WAT_URL), 'utf8');
const pair = /\(f32x4\.add \(local\.get (\$a\d\d)\) \(f32x4\.mul \(local\.get (\$s\d)\) \(local\.get (\$w\d)\)\)\)/g;
const fmaSource = source.replace(pair, '(f32x4.relaxed_madd (local.get $2) (local.get $3) (local.get $1))');
const pairs = (source.match(pair) ?? []).length;
if (pairs !== 8) throw new Error(`gemm_fma: expected the 8 mul+add pairs of the 2×16 micro-kernel in gemm.wat, found ${pairs}`);

const wabt = await initWabt();
function compile(name: string, text: string, features: Record<string, boolean>): Uint8Array<ArrayBuffer> {
  const mod = wabt.parseWat(name, text, features);
  try {
    mod.resolveNames();
    mod.validate();
    return new Uint8Array(mod.toBinary({ log: false, write_debug_names: false }).buffer);
  } finally {
    mod.destroy();
  }
}
const plainBytes = compile('gemm.wat', source, { simd: true });
const fmaBytes = compile('gemm.wat (relaxed_madd)', fmaSource, { simd: true, relaxed_simd: true });

const vBytes = p * B * 4;
const packed = gemmPackedBytes(p, B);
const [h, v, vp, out] = [0, vBytes, 2 * vBytes, 2 * vBytes + packed];
const memory = new WebAssembly.Memory({ initial: Math.ceil((out + p * p * 4) / 65536) });
type Gemm = { packV(v: number, p: number, B: number, vp: number): void; gemmNT(...a: number[]): void };
const instantiate = (bytes: Uint8Array<ArrayBuffer>) => new WebAssembly.Instance(new WebAssembly.Module(bytes), { env: { memory } }).exports as unknown as Gemm;
const kernels: Record<string, Gemm> = { 'mul + add (shipped)': instantiate(plainBytes) };
if (WebAssembly.validate(fmaBytes)) kernels['relaxed_madd (FMA)'] = instantiate(fmaBytes);
else console.log('relaxed SIMD is not available in this runtime: on Node 20 run with --experimental-wasm-relaxed-simd.');

const f = new Float32Array(memory.buffer);
for (let i = 0; i < 2 * p * B; i++) f[i] = Math.sin(i * 0.37);
kernels['mul + add (shipped)'].packV(v, p, B, vp);
const times: Record<string, number[]> = {};
for (let r = 0; r < reps + 1; r++) {
  for (const [name, k] of Object.entries(kernels)) {
    const t0 = performance.now();
    k.gemmNT(h, vp, 0, p, p, B, out, p);
    const ms = performance.now() - t0;
    if (r > 0) (times[name] ??= []).push(ms);
  }
}
const median = (xs: number[]) => xs.slice().sort((a, b) => a - b)[xs.length >> 1];
console.log(`GEMM G = H·Vᵀ, p = ${p}, B = ${B}, one thread, median of ${reps} interleaved reps (node ${process.version})`);
console.log('| kernel | ms | GFLOP/s |\n|---|---|---|');
for (const [name, ts] of Object.entries(times)) {
  const ms = median(ts);
  console.log(`| ${name} | ${ms.toFixed(1)} | ${((2 * p * p * B) / ms / 1e6).toFixed(1)} |`);
}
